// The one shape of every error the project's servers make themselves:
// {"error":{"type":<reason phrase>,"code":<snake_code>,"message":<text>}}.
#pragma once

#include <string>
#include <string_view>

namespace dpserve::common {

// Appends `text` to `out` as JSON string contents (no quotes): escapes '"', '\\' and control bytes;
// other UTF-8 passes through unchanged.
void append_json_escaped(std::string& out, std::string_view text);

// Quoted JSON string.
std::string json_quote(std::string_view text);

// The reason phrase of an HTTP status ("Not Found"), or "Error" for unknown codes.
std::string_view reason_phrase(unsigned status);

std::string error_body(unsigned status, std::string_view code, std::string_view message);

}  // namespace dpserve::common
