#pragma once
// Checks for numeric flags whose failures read well: CLI11's own ranges let NaN through
// and print the limits of the type (a 300-digit maximum) when none is given.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <sstream>
#include <string>

namespace qwen3c::cli {

// A number in [lo, hi], NaN refused (CLI::Range lets NaN through: every comparison with it
// is false), with a message short enough to read.
inline CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !(v >= lo && v <= hi)) {
          std::ostringstream message;
          message << "value " << text << " is not a number in [" << lo << ", " << hi << "]";
          return message.str();
        }
        return {};
      },
      "[" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

// Counts: whole numbers from lo to hi (a readable bound, not 2^63).
inline CLI::Validator count_in(std::int64_t lo, std::int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        std::int64_t v = 0;
        if (!CLI::detail::lexical_cast(text, v) || v < lo || v > hi) {
          return "value " + text + " is not a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
        }
        return {};
      },
      "[" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

// One element of a comma-separated id list: "" or "1,,2" is an error, not token 0.
inline CLI::Validator token_id() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::int64_t v = 0;
        if (text.empty() || !CLI::detail::lexical_cast(text, v) || v < 0) {
          return "'" + text + "' is not a token id (a whole number, 0 or more)";
        }
        return {};
      },
      "ID,...");
}

}  // namespace qwen3c::cli
