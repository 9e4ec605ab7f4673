#pragma once

namespace ws::core {

/// `std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}}, variant)`.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Spelled out: clang 14 (the fuzz build) lacks C++20's aggregate deduction.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace ws::core
