#include "exporter/config/config_text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tle::detail {

// Makes `text` safe for a one-line message: control bytes become \xNN, long
// text is cut.
std::string Printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (char c : text.substr(0, max_chars)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

std::string PositionedMessage(const std::string& file, int line, int column,
                              const std::string& key,
                              const std::string& message) {
  std::string text = Printable(file, 4096);
  if (line >= 0 && column >= 0) {
    text += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
  }
  text += ": " + key + ": " + Printable(message, 1024);
  return text;
}

// Reads a whole file, at most `max_bytes`. Returns an error text ("cannot read:
// ...") or nullopt.
std::optional<std::string> ReadFileCapped(const std::string& path,
                                          std::size_t max_bytes,
                                          std::string* content) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return std::string("cannot read: ") + std::strerror(errno);
  content->clear();
  char buffer[8192];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    content->append(buffer, n);
    if (content->size() > max_bytes) {
      return "cannot read: larger than " + std::to_string(max_bytes) + " bytes";
    }
    if (n < sizeof buffer) {
      if (std::ferror(file.get()))
        return std::string("cannot read: ") + std::strerror(errno);
      return std::nullopt;
    }
  }
}

}  // namespace tle::detail
