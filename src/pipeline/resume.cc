// pm::pipeline resume support: inspecting the output, checking a partial file
// belongs to this run, reading its done splits back, and the atomic replacement.
#include "resume.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"

namespace pm::pipeline {
namespace {

std::string attr(const std::map<std::string, std::string>& a, const char* name) {
  const auto it = a.find(name);
  return it == a.end() ? std::string() : it->second;
}

// Every way the file's run differs from this one, as "what: 'there' in the file,
// 'here' now" lines; empty when they match.
std::string differences(const std::map<std::string, std::string>& a, const RunIdentity& run) {
  std::string out;
  auto differ = [&](const std::string& what, const std::string& there, const std::string& here) {
    if (there != here) out += "\n  " + what + ": '" + there + "' in the file, '" + here + "' now";
  };
  nlohmann::json params = nlohmann::json::object();
  try {
    params = recorded_parameters(a);
  } catch (const std::exception&) {
    out += "\n  its 'parameters' attribute is not JSON";
  }
  auto param = [&](const char* key) {
    return params.contains(key) ? (params[key].is_string() ? params[key].get<std::string>()
                                                           : params[key].dump())
                                : std::string("?");
  };
  differ("input", param("input"), run.input);
  differ("model sha256", attr(a, "model_sha256"), run.model_sha256);
  differ("model card sha256", attr(a, "model_card_sha256"), run.model_card_sha256);
  differ("--reference", param("reference"), run.reference ? "true" : "false");
  // The precision that ran, not the one asked for: `auto` may resolve differently on other
  // CPUs. Files written before --precision say "bf16": true|false; --bf16 ran bf16 there.
  if (params.contains("precision_ran"))
    differ("precision (--precision)", param("precision_ran"), run.precision_ran);
  else
    differ("precision (--bf16 then, --precision now)",
           param("bf16") == "true" ? "bf16" : "fp32", run.precision_ran);
  // Files written before the flag existed stored every key: any limit resumes them.
  if (params.contains("max_key_bytes"))
    differ("--max-key-bytes", param("max_key_bytes"), std::to_string(run.max_key_bytes));
  if (params.contains("detection") || !run.detection.empty())
    differ("detection (--detector and its flags)", params.contains("detection") ? param("detection") : "",
           run.detection);
  return out;
}

OutputState inspect_on_root(const std::string& output, bool resume, const RunIdentity& run) {
  OutputState s;
  namespace fs = std::filesystem;
  if (!fs::exists(output)) {
    if (resume)
      s.note = "--resume: " + output + " does not exist yet; starting from the beginning";
    return s;
  }
  std::map<std::string, std::string> attrs;
  h5::Progress progress;
  std::int64_t rows = 0;
  try {
    // Checked reads (pixelmill/hdf5_io.h): /progress must account for the rows of /images.
    attrs = h5::read_root_attributes(output);
    progress = h5::read_progress(output);
    rows = h5::row_count(output);
  } catch (const std::exception& e) {
    if (resume)
      throw Error("--resume: " + output + " is not a readable pixelmill output (" + e.what() +
                  "); it is left as it is");
    return s;  // not ours, or damaged: a fresh run replaces it, as before
  }
  if (progress.complete) {
    if (!resume) return s;  // a finished run's file: a new run replaces it, as before
    s.mode = OutputState::Mode::kAlreadyComplete;
    s.rows = rows;
    return s;
  }
  std::int64_t done = 0;
  for (const auto d : progress.split_done) done += d;
  const std::string counted = std::to_string(done) + " of " +
                              std::to_string(progress.split_done.size()) + " splits done";
  if (!resume)
    throw Error(output + " holds an incomplete run (" + counted +
                "); continue it with --resume, or remove the file to start over");
  const std::string diff = differences(attrs, run);
  if (!diff.empty())
    throw Error("--resume: " + output + " was written by a different run:" + diff +
                "\nThe file is left as it is; rerun with its options, or remove it to start over");
  s.mode = OutputState::Mode::kResume;
  s.progress = std::move(progress);
  s.note = "--resume: " + output + " has " + counted + "; processing the rest";
  return s;
}

}  // namespace

nlohmann::json recorded_parameters(const std::map<std::string, std::string>& root) {
  const auto it = root.find("parameters");
  if (it == root.end()) return nlohmann::json::object();
  nlohmann::json params = nlohmann::json::parse(it->second);
  if (!params.is_object()) throw Error("the 'parameters' attribute is not a JSON object");
  return params;
}

OutputState inspect_output(const Comm& comm, const std::string& output, bool resume,
                           const RunIdentity& run) {
  // Rank 0 decides; the verdict travels as one string: <mode><rows> <note>.
  OutputState s;
  const std::string verdict = agreed_on_root(comm, "", [&] {
    s = inspect_on_root(output, resume, run);
    return std::to_string(static_cast<int>(s.mode)) + std::to_string(s.rows) + " " + s.note;
  });
  OutputState out;
  out.mode = static_cast<OutputState::Mode>(verdict[0] - '0');
  const auto space = verdict.find(' ');
  out.rows = std::stoll(verdict.substr(1, space - 1));
  out.note = verdict.substr(space + 1);
  if (out.mode == OutputState::Mode::kResume) {
    // Every rank reads the small /progress record itself (plain POSIX reads).
    agreed(comm, "--resume: reading " + output, [&] {
      out.progress = comm.rank() == 0 ? std::move(s.progress) : h5::read_progress(output);
    });
  }
  return out;
}

void check_plan(const std::string& output, const h5::Progress& progress,
                const std::string& plan_sha256, std::size_t planned_splits) {
  if (progress.plan_sha256 != plan_sha256 || progress.split_done.size() != planned_splits ||
      progress.split_rows.size() != planned_splits)
    throw Error("--resume: the input now plans differently (" + std::to_string(planned_splits) +
                " splits, plan " + plan_sha256.substr(0, 12) + ") from the run in " + output +
                " (" + std::to_string(progress.split_done.size()) + " splits, plan " +
                progress.plan_sha256.substr(0, 12) +
                "): files were added, removed or renamed since. The file is left as it is");
}

}  // namespace pm::pipeline
