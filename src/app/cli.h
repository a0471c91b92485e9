// Shared command-line handling for every subcommand (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pixelmill/comm.h"

namespace pm::app {

namespace po = boost::program_options;

// Parses `args` against `desc`, adding --help and --config FILE (an INI-style file with
// the same keys as the long flags, `key = value`; flags on the command line win).
// Returns nullopt when --help was given (help has been printed if `print_help`: exit 0).
// Throws pm::Error with one clear message for unknown flags, missing required ones, bad
// values and a --config file that cannot be read. `positional` names options that may be
// given without a flag, in order. Local to this process: see parse_command.
std::optional<po::variables_map> parse_flags(const std::string& command,
                                             const std::string& synopsis,
                                             po::options_description& desc,
                                             const std::vector<std::string>& args,
                                             bool print_help = true,
                                             const std::vector<std::string>& positional = {});

// parse_flags on every rank of `comm`, agreed: the same arguments may still read a
// different --config file on each node (or one that only some nodes can read), so a
// failure on any rank is a pm::AgreedError on every rank, before any work. Help is
// printed by rank 0. Collective.
std::optional<po::variables_map> parse_command(const Comm& comm, const std::string& command,
                                               const std::string& synopsis,
                                               po::options_description& desc,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& positional = {});

}  // namespace pm::app
