// --precision against a model card and the CPU (model_precision.h). The reasons are
// written for the run's summary line and its output file, so that "why did this run in
// fp32?" is answered without reading the code.
#include "pixelmill/model_precision.h"

#include "pixelmill/error.h"

namespace pm {
namespace {

constexpr std::pair<const char*, PrecisionRequest> kRequests[] = {
    {"auto", PrecisionRequest::kAuto},
    {"fp32", PrecisionRequest::kFp32},
    {"bf16", PrecisionRequest::kBf16},
    {"int8", PrecisionRequest::kInt8}};

const char* const kNoVnni =
    "this CPU has no VNNI (AVX512_VNNI, AVX_VNNI or AMX): the int8 model's Q/DQ run as "
    "written, in fp32 arithmetic (slower than the fp32 model)";

PrecisionChoice made(RunPrecision p, bool sibling, std::string reason, std::string note = "") {
  return PrecisionChoice{p, sibling, std::move(reason), std::move(note), false};
}

// `--precision auto`: the fastest the card allows on this CPU, and why the faster ones
// were not taken.
PrecisionChoice choose_auto(const ModelCard& card, const CpuCapabilities& cpu) {
  if (!card.quantized.empty() && cpu.vnni) {
    PrecisionChoice c = made(RunPrecision::kInt8, true, "auto: quantized sibling " + card.quantized + ", CPU has VNNI");
    c.measure_bf16 = card_allows_bf16(card) && cpu.bf16;
    return c;
  }
  std::string unused;
  if (!card.quantized.empty()) unused = "quantized sibling " + card.quantized + " unused: the CPU has no VNNI";
  const auto with = [&](std::string reason) {
    return unused.empty() ? reason : reason + "; " + unused;
  };
  if (card_allows_bf16(card) && cpu.bf16)
    return made(RunPrecision::kBf16, false, with("auto: the card allows bf16, CPU has AVX512_BF16/AMX"));
  std::string why = card.quantized.empty() ? "no quantized sibling" : unused;
  why += card_allows_bf16(card) ? "; the card allows bf16 but the CPU has no AVX512_BF16/AMX"
                                : "; the card does not allow bf16";
  return made(RunPrecision::kFp32, false, "auto: " + why);
}

}  // namespace

PrecisionRequest parse_precision_request(const std::string& name) {
  for (const auto& [n, value] : kRequests)
    if (name == n) return value;
  throw Error("--precision must be auto, fp32, bf16 or int8, not '" + name + "'");
}

std::string_view precision_request_name(PrecisionRequest p) {
  for (const auto& [n, value] : kRequests)
    if (value == p) return n;
  return "unknown";
}

std::string_view run_precision_name(RunPrecision p) {
  switch (p) {
    case RunPrecision::kFp32: return "fp32";
    case RunPrecision::kBf16: return "bf16";
    case RunPrecision::kInt8: return "int8";
  }
  return "unknown";
}

PrecisionChoice choose_precision(const ModelCard& card, PrecisionRequest request,
                                 const CpuCapabilities& cpu, IfNoInt8 if_no_int8) {
  if (card.quantization) {
    // The card's file is a QDQ model: it is int8 or nothing.
    if (request == PrecisionRequest::kFp32 || request == PrecisionRequest::kBf16)
      throw Error("model card " + card.path + " is an int8 card (quantised from " +
                  card.quantization->from_file + "): --precision " +
                  std::string(precision_request_name(request)) +
                  " would run its QDQ file fake-quantised, slower than the fp32 model and no more "
                  "exact; give the fp32 model's card for " +
                  std::string(precision_request_name(request)) + ", or --precision auto or int8");
    const std::string how = request == PrecisionRequest::kAuto ? "auto" : "--precision int8";
    if (cpu.vnni) return made(RunPrecision::kInt8, false, how + ": an int8 card, CPU has VNNI");
    return made(RunPrecision::kInt8, false, how + ": an int8 card; the CPU has no VNNI (Q/DQ in fp32 arithmetic)",
                std::string(kNoVnni) + " (" + card.path + ")");
  }
  switch (request) {
    case PrecisionRequest::kAuto:
      return choose_auto(card, cpu);
    case PrecisionRequest::kFp32:
      return made(RunPrecision::kFp32, false, "--precision fp32");
    case PrecisionRequest::kBf16:
      // As --bf16 always did: whatever the card lists; fp32 where bf16 would be emulated.
      if (cpu.bf16) return made(RunPrecision::kBf16, false, "--precision bf16");
      return made(RunPrecision::kFp32, false, "--precision bf16, but the CPU has no AVX512_BF16/AMX",
                  "this CPU has no AVX512_BF16/AMX: " + card.path + " runs in fp32 (emulated bf16 "
                  "would be slower and less exact)");
    case PrecisionRequest::kInt8:
      if (!card.quantized.empty()) {
        if (cpu.vnni)
          return made(RunPrecision::kInt8, true, "--precision int8: quantized sibling " + card.quantized + ", CPU has VNNI");
        return made(RunPrecision::kInt8, true,
                    "--precision int8: quantized sibling " + card.quantized +
                        "; the CPU has no VNNI (Q/DQ in fp32 arithmetic)",
                    std::string(kNoVnni) + " (" + card.quantized + ")");
      }
      if (if_no_int8 == IfNoInt8::kFallBack)
        return made(RunPrecision::kFp32, false, "--precision int8, but the card has no quantized sibling",
                    "model card " + card.path + " has no quantized sibling: it runs in fp32");
      throw Error("--precision int8: model card " + card.path +
                  " names no quantized sibling ('quantized') and is not an int8 card; make one with "
                  "`pixelmill model quantize`, or run --precision auto");
  }
  throw Error("unknown precision request");
}

ResolvedModel resolve_model_precision(const std::string& model_or_card, PrecisionRequest request,
                                      const CpuCapabilities& cpu, IfNoInt8 if_no_int8) {
  ResolvedModel r;
  r.files = resolve_model(model_or_card);
  r.given_card = r.files.card.path;
  r.choice = choose_precision(r.files.card, request, cpu, if_no_int8);
  if (r.choice.sibling) r.files = resolve_quantized_sibling(r.files.card);
  return r;
}

}  // namespace pm
