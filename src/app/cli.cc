#include "cli.h"

#include <fstream>
#include <iostream>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"

namespace pm::app {

std::optional<po::variables_map> parse_flags(const std::string& command,
                                             const std::string& synopsis,
                                             po::options_description& desc,
                                             const std::vector<std::string>& args,
                                             bool print_help,
                                             const std::vector<std::string>& positional) {
  po::options_description common("Common options");
  common.add_options()("help,h", "print this help and exit")(
      "config", po::value<std::string>(),
      "read options from FILE (lines `key = value`, keys are the long flag names)");
  po::options_description all;
  all.add(desc).add(common);
  po::positional_options_description pos;
  for (const auto& p : positional) pos.add(p.c_str(), 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      if (print_help) std::cout << "Usage: pixelmill " << command << " " << synopsis << "\n\n" << all << "\n";
      return std::nullopt;
    }
    if (vm.count("config")) {
      const auto file = vm["config"].as<std::string>();
      std::ifstream in(file);
      if (!in) throw Error("cannot read --config file '" + file + "'");
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + " (see pixelmill " + command + " --help)");
  }
  return vm;
}

std::optional<po::variables_map> parse_command(const Comm& comm, const std::string& command,
                                               const std::string& synopsis,
                                               po::options_description& desc,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& positional) {
  std::optional<po::variables_map> vm;
  agreed(comm, "", [&] {
    vm = parse_flags(command, synopsis, desc, args, comm.rank() == 0, positional);
  });
  // --help is on the command line, the same on every rank: all return nullopt together.
  return vm;
}

}  // namespace pm::app
