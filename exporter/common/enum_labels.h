// A label table for an enum: one `{value, label}` row per enumerator, in enum
// order, so the enum, its count and its label text cannot drift apart.
//
// The enum runs from 0 to a `kMaxValue` enumerator without gaps. Next to each
// table, static_assert its size (kMaxValue + 1) and InEnumOrder; a new
// enumerator then fails to compile until its row is added. Constexpr values
// only; safe from any thread.
#pragma once

#include <array>
#include <cstddef>

namespace tle {

template <typename Enum>
struct EnumLabel {
  Enum value;
  const char* label;
};

template <typename Enum, std::size_t N>
using EnumLabels = std::array<EnumLabel<Enum>, N>;

// The number of rows a table for Enum must have.
template <typename Enum>
inline constexpr std::size_t kEnumSize =
    static_cast<std::size_t>(Enum::kMaxValue) + 1;

// True when row i of `table` is enumerator i. A table whose rows carry more
// than a label (the APIs' names and rate limits) names the member holding
// the enumerator: InEnumOrder(kApis, &ApiInfo::api).
template <typename Row, std::size_t N, typename Enum>
constexpr bool InEnumOrder(const std::array<Row, N>& table, Enum Row::*value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (table[i].*value != static_cast<Enum>(i)) return false;
  }
  return true;
}
template <typename Enum, std::size_t N>
constexpr bool InEnumOrder(const EnumLabels<Enum, N>& table) {
  return InEnumOrder(table, &EnumLabel<Enum>::value);
}

// REQUIRES: `table` passes the static_asserts above.
template <typename Enum, std::size_t N>
constexpr const char* LabelOf(const EnumLabels<Enum, N>& table, Enum value) {
  return table[static_cast<std::size_t>(value)].label;
}

}  // namespace tle
