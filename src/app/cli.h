// Shared command-line handling for every subcommand (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pm::app {

namespace po = boost::program_options;

// Parses `args` against `desc`, adding --help and --config FILE (an INI-style file with
// the same keys as the long flags, `key = value`; flags on the command line win).
// Returns nullopt when --help was given (help has been printed on rank 0: exit 0).
// Throws pm::Error with one clear message for unknown flags, missing required ones and
// bad values, before any work is done. `positional` names options that may be given
// without a flag, in order.
std::optional<po::variables_map> parse_command(const std::string& command,
                                               const std::string& synopsis,
                                               po::options_description& desc,
                                               const std::vector<std::string>& args,
                                               bool print_help = true,
                                               const std::vector<std::string>& positional = {});

}  // namespace pm::app
