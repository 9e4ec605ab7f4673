// Static ICE lists.
#include "ice/ice_provider.hpp"

namespace ws::ice {

boost::json::array google_stun() {
  boost::json::array urls{"stun:stun.l.google.com:19302", "stun:stun1.l.google.com:19302",
                          "stun:stun2.l.google.com:19302", "stun:stun3.l.google.com:19302",
                          "stun:stun4.l.google.com:19302"};
  return boost::json::array{boost::json::object{{"urls", std::move(urls)}}};
}

}  // namespace ws::ice
