// SPDX-License-Identifier: MIT
// wsk.convert: checks the WSK backend's one conversion table (backends/wsk/convert.cpp) in
// the kernel, against the DDK's own structures and constants. Most WSK paths that use it are
// compiled only under Wine (the provider lacks them); this case at least proves that what they
// would hand the provider is right: SOCKADDR_IN/SOCKADDR_IN6 layout, flags, event masks,
// options, control codes, UTF-8 <-> UTF-16.
#include "backend.h"
#include "ktest_registry.h"

namespace xwsk::ktest {
namespace {

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      return ktest_report(ctx, KtestResult::kFailed, "%s:%d: %s", "wsk_convert_test", __LINE__, \
                          #cond);                                                               \
    }                                                                                           \
  } while (0)

bool same(const void* a, const void* b, SIZE_T n) {
  return RtlCompareMemory(a, b, n) == n;
}

}  // namespace

KtestResult wsk_convert(KtestContext& ctx) {
  using namespace xwsk::wsk;
  // IPv4: port and address in network byte order, as the provider reads them.
  NativeAddr n{};
  CHECK(to_native(ipv4(127, 0, 0, 1, 0x1234), &n));
  CHECK(n.in.sin_family == AF_INET);
  const unsigned char port_bytes[2] = {0x12, 0x34};
  CHECK(same(&n.in.sin_port, port_bytes, 2));
  const unsigned char lo[4] = {127, 0, 0, 1};
  CHECK(same(&n.in.sin_addr, lo, 4));
  SockAddr back{};
  CHECK(from_native(&n.sa, &back));
  CHECK(address_equal(back, ipv4(127, 0, 0, 1, 0x1234)));
  // IPv6 with scope and flow info.
  SockAddr v6 = ipv6_loopback(443);
  v6.scope_id = 7;
  v6.flowinfo = 0x01020304;
  CHECK(to_native(v6, &n));
  CHECK(n.in6.sin6_family == AF_INET6);
  CHECK(n.in6.sin6_scope_id == 7);
  CHECK(n.in6.sin6_flowinfo == 0x01020304);
  CHECK(reinterpret_cast<const unsigned char*>(&n.in6.sin6_addr)[15] == 1);
  CHECK(from_native(&n.sa, &back));
  CHECK(address_equal(back, v6));
  CHECK(back.flowinfo == 0x01020304);
  SockAddr bad{};
  bad.family = 99;
  CHECK(!to_native(bad, &n));
  CHECK(!from_native(nullptr, &back));
  // Selectors, categories, flags, event masks.
  CHECK(native_family(AddressFamily::Inet6) == AF_INET6);
  CHECK(native_socket_type(SocketType::Datagram) == SOCK_DGRAM);
  CHECK(native_protocol(Protocol::Udp) == IPPROTO_UDP);
  CHECK(native_category(kStreamSocket) == WSK_FLAG_STREAM_SOCKET);
  CHECK(native_category(kBasicSocket) == WSK_FLAG_BASIC_SOCKET);
  CHECK(native_op_flags(kFlagWaitAll) == WSK_FLAG_WAITALL);
  CHECK(native_op_flags(kFlagDrain) == WSK_FLAG_DRAIN);
  CHECK(native_op_flags(kFlagAbortive) == WSK_FLAG_ABORTIVE);
  CHECK(native_op_flags(kFlagNoDelay) == WSK_FLAG_NODELAY);
  CHECK(xwsk_event_flags(WSK_FLAG_AT_DISPATCH_LEVEL | WSK_FLAG_ENTIRE_MESSAGE) ==
        (kFlagAtDispatchLevel | kFlagEntireMessage));
  CHECK(native_event_mask(kEventReceive | kEventDisconnect) ==
        (WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT));
  CHECK(native_event_mask(kEventAccept | kEventDisable) == (WSK_EVENT_ACCEPT | WSK_EVENT_DISABLE));
  CHECK(native_event_mask(kEventReceiveFrom | kEventSendBacklog) ==
        (WSK_EVENT_RECEIVE_FROM | WSK_EVENT_SEND_BACKLOG));
  // Options, ioctls, control codes.
  ULONG level = 0, name = 0;
  CHECK(native_option(kSolSocket, kSoWskEventCallback, &level, &name));
  CHECK(level == SOL_SOCKET && name == SO_WSK_EVENT_CALLBACK);
  CHECK(native_option(kIpProtoTcp, kTcpNoDelay, &level, &name));
  CHECK(level == IPPROTO_TCP && name == TCP_NODELAY);
  CHECK(native_option(kSolSocket, kSoExclusiveAddrUse, &level, &name));
  CHECK(name == static_cast<ULONG>(SO_EXCLUSIVEADDRUSE));
  CHECK(!native_option(kSolSocket, 0x7777, &level, &name) && name == 0x7777);
  CHECK(native_ioctl(kFionRead) == static_cast<ULONG>(FIONREAD));
  CHECK(native_control_client(kSetStaticEventCallbacks) == WSK_SET_STATIC_EVENT_CALLBACKS);
  CHECK(native_control_client(kTransportListQuery) == WSK_TRANSPORT_LIST_QUERY);
  CHECK(native_control_type(ControlType::GetOption) == WskGetOption);
  CHECK(native_inspect_action(InspectAction::Accept) == WskInspectAccept);
  // UTF-8 <-> UTF-16, including a surrogate pair and truncation.
  const char utf8[] = "h\xc3\xa9llo-\xe2\x82\xac-\xf0\x9f\x98\x80";  // "héllo-€-😀"
  WCHAR w[32];
  const int wn = utf8_to_wide(utf8, w, 32);
  CHECK(wn == 10);
  CHECK(w[1] == 0xe9 && w[6] == 0x20ac && w[8] == 0xd83d && w[9] == 0xde00);
  char u[32];
  const int un = wide_to_utf8(w, static_cast<size_t>(wn), u, sizeof(u));
  CHECK(un == static_cast<int>(sizeof(utf8) - 1));
  CHECK(same(u, utf8, sizeof(utf8)));
  CHECK(utf8_to_wide(utf8, w, 4) == -1);
  CHECK(wide_to_utf8(w, static_cast<size_t>(wn), u, 5) == -1);
  CHECK(utf8_to_wide("\xff", w, 4) == -1);
  // Malformed input is refused, never passed on mangled: a lone surrogate either way, and a
  // UTF-8 encoding of a surrogate.
  const WCHAR lone[2] = {static_cast<WCHAR>(0xd800), static_cast<WCHAR>('a')};
  CHECK(wide_to_utf8(lone, 2, u, sizeof(u)) == -1);
  CHECK(utf8_to_wide("\xed\xa0\x80", w, 4) == -1);
  // make_wsk_buf, under the wine-8 profile (the loader sets it under Wine): a Buf that ends
  // inside the second of three segments ends the MDL chain there for the provider call (Wine's
  // netio rejects a multi-MDL chain that runs past the Buf), and restore_mdl_cut() gives the MDL
  // its Next back. Other providers get the chain whole (WSK bounds it by Offset + Length).
  char bytes[48];
  Segment seg[3] = {};
  bool made = true;
  for (int i = 0; i < 3; ++i) {
    made = made && segment_init(&seg[i], bytes + 16 * i, 16) == Status::Success;
  }
  seg[0].next = &seg[1];
  seg[1].next = &seg[2];
  auto* mdl0 = static_cast<MDL*>(seg[0].native);
  auto* mdl1 = static_cast<MDL*>(seg[1].native);
  auto* mdl2 = static_cast<MDL*>(seg[2].native);
  bool linked = false, cut_ok = false, restored = false, whole = false;
  if (made) {
    mdl1->Next = mdl2;               // as a longer Buf over the same chain would have left it
    const Buf part{&seg[0], 4, 20};  // bytes 4..24: ends inside seg[1]
    WSK_BUF wb;
    MdlCut cut;
    make_wsk_buf(&part, &wb, &cut);
    linked = wb.Mdl == mdl0 && wb.Offset == 4 && wb.Length == 20 && mdl0->Next == mdl1;
    if (provider_profile() == ProviderProfile::kWine8) {
      cut_ok = mdl1->Next == nullptr && cut.mdl == mdl1 && cut.next == mdl2;
    } else {
      cut_ok = mdl1->Next == mdl2 && cut.mdl == nullptr;
    }
    restore_mdl_cut(cut);
    restored = mdl1->Next == mdl2;
    const Buf all{&seg[0], 0, 48};
    make_wsk_buf(&all, &wb, &cut);
    // The chain already ends at the Buf's last segment: nothing to cut.
    whole = mdl0->Next == mdl1 && mdl1->Next == mdl2 && mdl2->Next == nullptr && cut.mdl == nullptr;
    restore_mdl_cut(cut);
  }
  for (Segment& s : seg)
    segment_free(&s);
  CHECK(made);
  CHECK(linked);
  CHECK(cut_ok);
  CHECK(restored);
  CHECK(whole);
  return KtestResult::kPassed;
}

}  // namespace xwsk::ktest
