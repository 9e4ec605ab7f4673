// The token bucket every rate limit uses (PROTOCOL.md §10): messages and bytes per connection in
// the Engine, new connections per address in net/admission. Pure: the caller supplies the time.
#pragma once

#include <algorithm>
#include <chrono>

namespace ws::core {

/// A bucket's settings: `burst` tokens at most, refilled at `per_second`. Kept apart from the
/// bucket so that one copy serves every connection's.
struct TokenRate {
  double per_second = 1;
  double burst = 1;
};

/// A bucket of tokens, full when made. Value type of 16 bytes, not thread-safe; `Time` is any
/// std::chrono time_point (the Engine's wall clock, the listener's steady clock). A time that
/// goes backwards refills nothing.
template <class Time>
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(const TokenRate& rate, Time now) : tokens_(rate.burst), refilled_(now) {}

  /// Adds what `rate` refilled since the last refill, up to the burst.
  void refill(const TokenRate& rate, Time now) {
    const double elapsed = std::chrono::duration<double>(now - refilled_).count();
    if (elapsed <= 0) return;
    tokens_ = std::min(rate.burst, tokens_ + elapsed * rate.per_second);
    refilled_ = now;
  }

  /// Whether `n` tokens may be taken: the bucket holds them, or it is full and `n` is more
  /// than it can ever hold (one batch bigger than the burst passes once, then empties it).
  bool can_take(const TokenRate& rate, double n) const {
    return tokens_ >= std::min(n, rate.burst);
  }

  /// Takes `n` tokens (what can_take allowed); never below zero.
  void take(double n) { tokens_ = std::max(0.0, tokens_ - n); }

  /// Charges `n` tokens that were spent whatever the verdict (frames already read): the bucket
  /// may go into debt, down to minus one burst, and nothing can be taken until it is repaid.
  void owe(const TokenRate& rate, double n) { tokens_ = std::max(-rate.burst, tokens_ - n); }

  /// refill, then take `n` when can_take. Returns whether it took them.
  bool try_take(const TokenRate& rate, double n, Time now) {
    refill(rate, now);
    if (!can_take(rate, n)) return false;
    take(n);
    return true;
  }

  /// Seconds until can_take(rate, n) holds, at the current count.
  double seconds_until(const TokenRate& rate, double n) const {
    const double need = std::min(n, rate.burst) - tokens_;
    return need <= 0 ? 0.0 : need / rate.per_second;
  }

  /// Whether the bucket is full again at `now` (nothing to remember about it).
  bool full_at(const TokenRate& rate, Time now) const {
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - refilled_).count());
    return tokens_ + elapsed * rate.per_second >= rate.burst;
  }

  double tokens() const { return tokens_; }

 private:
  double tokens_ = 0;
  Time refilled_{};
};

}  // namespace ws::core
