// Untrusted bytes on zl-meshd's side: etcd's answers (every parser of the JSON gateway and the
// watch stream), the records other nodes write into etcd, the agent's own state file, and the
// peer-names file zl-wg show reads. When a record or the state parses, it re-encodes to
// something that parses the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "plugins/zl-wg/meshd/etcd_codec.h"
#include "plugins/zl-wg/meshd/local.h"
#include "plugins/zl-wg/meshd/records.h"
#include "plugins/zl-wg/names.h"

using namespace zl;
using namespace zl::meshd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)codec::parse_range(text);
  (void)codec::parse_txn(text);
  (void)codec::parse_put(text);
  (void)codec::parse_grant(text);
  (void)codec::parse_keepalive(text);
  (void)codec::parse_watch_message(text);
  (void)codec::check_answer(200, text);
  codec::LineSplitter split(4096);
  if (split.feed(text)) {
    while (auto line = split.next()) (void)codec::parse_watch_message(*line);
  }
  if (auto n = decode_node(text)) {
    auto again = decode_node(encode(*n));
    if (!again || !(*again == *n)) std::abort();
  }
  if (auto s = decode_subnet(text)) {
    if (!decode_subnet(encode(*s))) std::abort();
  }
  if (auto c = decode_cluster(text)) {
    auto again = decode_cluster(encode(*c));
    if (!again || !(*again == *c)) std::abort();
  }
  if (auto st = decode_state(text)) {
    if (!decode_state(encode_state(*st))) std::abort();
  }
  (void)wg::parse_peer_names(text, "fuzz");
  return 0;
}
