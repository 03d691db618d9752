// SPDX-License-Identifier: MIT
// libFuzzer target: operation sequences on loopback sockets.
//
// Each input is a program of up to 64 operations on up to 24 sockets of one client: create (any
// family, category, and sometimes a type or protocol that does not fit), bind (port 0, another
// socket's address, the wrong family), listen, connect (to one of our listeners, to a port that
// refuses, the wrong family), accept, send and receive (chained buffers, any flags), disconnect
// (graceful, abortive, with final data), send_to and receive_from, events on and off (any mask,
// with and without a request), get_local_address / get_remote_address, close, and short waits,
// in any order and on any socket (the wrong category included). Accept events take the new
// socket while a slot is free. At the end every socket is closed.
// Checks: no crash, no hang (libFuzzer's -timeout); every call either rejects its request (no
// completion, ever) or accepts it, and every accepted request completes exactly once (a status
// returned other than Pending is the one the routine saw); every request has completed once the
// sockets are closed; deregistering returns; every counter is zero at the end of each input.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "fuzz_common.h"

namespace {

using fuzz::die;
using fuzz::die_status;
using xwsk::Status;

constexpr uint32_t kWaitMs = 5000;
constexpr int kSlots = 24;
constexpr int kRequests = 48;
constexpr int kMaxOps = 64;
constexpr size_t kData = 512;

enum class SlotState { Free, Reserved, Open, Closed };

struct Slot {
  SlotState state = SlotState::Free;
  xwsk::Socket* s = nullptr;
  xwsk::AddressFamily family = xwsk::AddressFamily::Inet;
  bool have_local = false;
  xwsk::SockAddr local{};
  bool take_data = true;  // receive event: Success (take all) or DataNotAccepted
  fuzz::Tracked close_req;
};

// What a request was used for, so that its completion can be adopted (a new socket, an address).
enum class Use { None, Create, Accept, LocalAddress, Other };

struct Op {
  fuzz::Tracked t;
  Use use = Use::None;
  int slot = -1;  // Create/Accept: the reserved slot; LocalAddress: the socket's slot
  bool adopted = true;
  uint8_t data[kData];
  xwsk::Segment seg[2];
  xwsk::Buf buf{};
  xwsk::Buf final_data{};
  xwsk::SockAddr addr{};
  size_t control_length = 0;
  uint32_t control_flags = 0;
};

struct World {
  std::mutex mu;  // the slot table (the accept event adopts from the loop thread)
  Slot slots[kSlots];
  Op ops[kRequests];
  xwsk::SockAddr refuser4{}, refuser6{};
};

World* g_world = nullptr;

int reserve_slot_locked(World& w) {
  for (int i = 0; i < kSlots; ++i) {
    if (w.slots[i].state == SlotState::Free) {
      w.slots[i].state = SlotState::Reserved;
      return i;
    }
  }
  return -1;
}

// ---- event callbacks ----------------------------------------------------------------------
Status on_receive(void* ctx, uint32_t, xwsk::DataIndication* data, size_t bytes, size_t* accepted) {
  auto* slot = static_cast<Slot*>(ctx);
  if (data == nullptr) return Status::Success;
  if (slot != nullptr && !slot->take_data) return Status::DataNotAccepted;
  if (accepted != nullptr) *accepted = bytes;
  return Status::Success;
}
Status on_disconnect(void*, uint32_t) {
  return Status::Success;
}
Status on_backlog(void*, size_t) {
  return Status::Success;
}
const xwsk::ConnectionDispatch kConnection = {on_receive, on_disconnect, on_backlog};

Status on_accept(void*, uint32_t, const xwsk::SockAddr*, const xwsk::SockAddr*,
                 xwsk::Socket* accepted, void** accepted_context,
                 const xwsk::ConnectionDispatch** accepted_dispatch) {
  if (accepted == nullptr) return Status::Success;  // the listener is closing
  World& w = *g_world;
  std::lock_guard<std::mutex> lock(w.mu);
  int i = reserve_slot_locked(w);
  if (i < 0) return Status::RequestNotAccepted;
  Slot& slot = w.slots[i];
  slot.state = SlotState::Open;
  slot.s = accepted;
  slot.have_local = false;
  *accepted_context = &slot;
  *accepted_dispatch = &kConnection;
  return Status::Success;
}
xwsk::InspectAction on_inspect(void*, const xwsk::SockAddr*, const xwsk::SockAddr*,
                               const xwsk::InspectId*) {
  return xwsk::InspectAction::Accept;
}
Status on_abort(void*, const xwsk::InspectId*) {
  return Status::Success;
}
Status on_receive_from(void*, uint32_t, xwsk::DatagramIndication*) {
  return Status::Success;  // taken (or, with null, the socket is going away)
}
const xwsk::ListenDispatch kListen = {on_accept, on_inspect, on_abort};
const xwsk::DatagramDispatch kDatagram = {on_receive_from};
const xwsk::StreamDispatch kStream = {&kListen, &kConnection};

// ---- the harness ----------------------------------------------------------------------------

void arm(fuzz::Tracked& t) {
  t.calls.store(0);
  t.in_use.store(true);
}

// Adopts what finished requests produced: created and accepted sockets, local addresses.
void reap(World& w) {
  std::lock_guard<std::mutex> lock(w.mu);
  for (Op& op : w.ops) {
    if (op.adopted || !op.t.done()) continue;
    op.adopted = true;
    if (op.use == Use::Create || op.use == Use::Accept) {
      Slot& slot = w.slots[op.slot];
      if (op.t.status == Status::Success && op.t.information != 0) {
        slot.state = SlotState::Open;
        slot.s = reinterpret_cast<xwsk::Socket*>(op.t.information);
        slot.have_local = false;
      } else {
        slot.state = SlotState::Free;
      }
    } else if (op.use == Use::LocalAddress && op.t.status == Status::Success) {
      Slot& slot = w.slots[op.slot];
      slot.local = op.addr;
      slot.have_local = true;
    }
  }
}

Op* free_op(World& w, uint8_t hint) {
  for (int k = 0; k < kRequests; ++k) {
    Op& op = w.ops[(hint + k) % kRequests];
    if (op.t.done() && op.adopted) return &op;
  }
  return nullptr;
}

// An open socket's slot index, picked by @p b (or -1).
int open_slot(World& w, uint8_t b) {
  std::lock_guard<std::mutex> lock(w.mu);
  for (int k = 0; k < kSlots; ++k) {
    int i = (b + k) % kSlots;
    if (w.slots[i].state == SlotState::Open) return i;
  }
  return -1;
}

const xwsk::SockAddr* some_address(World& w, fuzz::Input& in, xwsk::AddressFamily family,
                                   xwsk::SockAddr* scratch) {
  uint8_t b = in.u8();
  switch (b % 6) {
    case 0:
      *scratch = family == xwsk::AddressFamily::Inet6 ? w.refuser6 : w.refuser4;
      return scratch;
    case 1:  // the wrong family
      *scratch = family == xwsk::AddressFamily::Inet6 ? w.refuser4 : w.refuser6;
      return scratch;
    case 2:
      return nullptr;
    default: {
      std::lock_guard<std::mutex> lock(w.mu);
      for (int k = 0; k < kSlots; ++k) {
        const Slot& s = w.slots[(b + k) % kSlots];
        if (s.have_local) {
          *scratch = s.local;
          return scratch;
        }
      }
      *scratch = family == xwsk::AddressFamily::Inet6 ? w.refuser6 : w.refuser4;
      return scratch;
    }
  }
}

// Prepares op's buffer: 1 or 2 segments over its data, a length that fits. The op is free, so
// the segments of its previous use go first (on the WSK backend each one holds an MDL).
void make_buf(Op& op, fuzz::Input& in) {
  xwsk::segment_free(&op.seg[0]);
  xwsk::segment_free(&op.seg[1]);
  size_t split = in.u8() % (kData / 2);
  xwsk::segment_init(&op.seg[0], op.data, split);
  xwsk::segment_init(&op.seg[1], op.data + split, kData - split);
  op.seg[0].next = in.flag() ? &op.seg[1] : nullptr;
  size_t room = op.seg[0].next != nullptr ? kData : split;
  op.buf.segment = &op.seg[0];
  op.buf.offset = 0;
  op.buf.length = room == 0 ? 0 : in.u16() % (room + 1);
  for (size_t i = 0; i < kData; ++i)
    op.data[i] = static_cast<uint8_t>(i);
}

void free_bufs(World& w) {
  for (Op& op : w.ops) {
    xwsk::segment_free(&op.seg[0]);
    xwsk::segment_free(&op.seg[1]);
  }
}

// Records the outcome of the call just made with @p op. An accepted request that makes a socket
// or an address is adopted by reap() once it completes; a rejected one frees its slot.
bool issue(World& w, Op& op, Use use, int slot, Status st) {
  bool accepted = op.t.settle(st);
  op.use = use;
  op.slot = slot;
  bool produces = use == Use::Create || use == Use::Accept || use == Use::LocalAddress;
  op.adopted = !(accepted && produces);
  if (!accepted && (use == Use::Create || use == Use::Accept)) {
    std::lock_guard<std::mutex> lock(w.mu);
    w.slots[slot].state = SlotState::Free;
  }
  return accepted;
}

int os_refuser(int family, xwsk::SockAddr* at) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (family == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      close(fd);
      return -1;
    }
    *at = xwsk::ipv4_loopback(ntohs(sa.sin_port));
  } else {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    socklen_t len = sizeof sa;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      close(fd);
      return -1;
    }
    *at = xwsk::ipv6_loopback(ntohs(sa.sin6_port));
  }
  return fd;  // bound, never listening: a connect to it is refused
}

const uint32_t kCategories[] = {xwsk::kListenSocket, xwsk::kConnectionSocket, xwsk::kDatagramSocket,
                                xwsk::kBasicSocket, xwsk::kStreamSocket};
const uint32_t kEvents[] = {xwsk::kEventReceiveFrom, xwsk::kEventAccept, xwsk::kEventSendBacklog,
                            xwsk::kEventReceive, xwsk::kEventDisconnect};

void step(World& w, fuzz::Input& in, xwsk::Client* client) {
  uint8_t code = in.u8();
  Op* op = free_op(w, in.u8());
  if (op == nullptr) {
    fuzz::sleep_ms(1);
    return;
  }
  int si = open_slot(w, in.u8());
  Slot* slot = si >= 0 ? &w.slots[si] : nullptr;
  xwsk::Socket* s = slot != nullptr ? slot->s : nullptr;
  xwsk::AddressFamily fam = slot != nullptr ? slot->family : xwsk::AddressFamily::Inet;
  xwsk::SockAddr scratch{};
  switch (code % 16) {
    case 0:
    case 1: {  // create
      int target;
      {
        std::lock_guard<std::mutex> lock(w.mu);
        target = reserve_slot_locked(w);
      }
      if (target < 0) return;
      uint8_t b = in.u8();
      uint32_t category = kCategories[b % 5];
      if (b == 0xff) category = in.u32();
      xwsk::SocketType type =
          category == xwsk::kDatagramSocket ? xwsk::SocketType::Datagram : xwsk::SocketType::Stream;
      xwsk::Protocol proto = xwsk::Protocol::Default;
      if ((b & 0x70) == 0x70) type = static_cast<xwsk::SocketType>(in.u8() % 5);
      if ((b & 0x70) == 0x60) proto = static_cast<xwsk::Protocol>(in.u8());
      xwsk::AddressFamily f = in.flag() ? xwsk::AddressFamily::Inet6 : xwsk::AddressFamily::Inet;
      Slot& ts = w.slots[target];
      ts.family = f;
      ts.take_data = in.flag();
      const void* dispatch = nullptr;
      switch (category) {
        case xwsk::kListenSocket:
          dispatch = &kListen;
          break;
        case xwsk::kConnectionSocket:
          dispatch = &kConnection;
          break;
        case xwsk::kDatagramSocket:
          dispatch = &kDatagram;
          break;
        case xwsk::kStreamSocket:
          dispatch = &kStream;
          break;
        default:
          break;
      }
      arm(op->t);
      Status st = xwsk::socket(client, f, type, proto, category, &ts, dispatch, &op->t.req);
      issue(w, *op, Use::Create, target, st);
      return;
    }
    case 2: {  // bind
      if (s == nullptr) return;
      xwsk::SockAddr a =
          fam == xwsk::AddressFamily::Inet6 ? xwsk::ipv6_loopback(0) : xwsk::ipv4_loopback(0);
      const xwsk::SockAddr* to = &a;
      if (in.u8() % 4 == 0) to = some_address(w, in, fam, &scratch);
      arm(op->t);
      issue(w, *op, Use::Other, si, xwsk::bind(s, to, 0, &op->t.req));
      return;
    }
    case 3:  // listen
      if (s == nullptr) return;
      arm(op->t);
      issue(w, *op, Use::Other, si, xwsk::listen(s, &op->t.req));
      return;
    case 4: {  // connect
      if (s == nullptr) return;
      const xwsk::SockAddr* to = some_address(w, in, fam, &scratch);
      op->addr = to != nullptr ? *to : xwsk::SockAddr{};
      arm(op->t);
      issue(w, *op, Use::Other, si,
            xwsk::connect(s, to != nullptr ? &op->addr : nullptr, 0, &op->t.req));
      return;
    }
    case 5: {  // accept (the new socket needs a slot)
      if (s == nullptr) return;
      int target;
      {
        std::lock_guard<std::mutex> lock(w.mu);
        target = reserve_slot_locked(w);
      }
      if (target < 0) return;
      w.slots[target].family = fam;
      w.slots[target].take_data = in.flag();
      arm(op->t);
      Status st = xwsk::accept(s, 0, &w.slots[target], &kConnection, nullptr, nullptr, &op->t.req);
      issue(w, *op, Use::Accept, target, st);
      return;
    }
    case 6: {  // send
      if (s == nullptr) return;
      make_buf(*op, in);
      uint32_t flags = in.flag() ? xwsk::kFlagNoDelay : 0;
      arm(op->t);
      issue(w, *op, Use::Other, si, xwsk::send(s, &op->buf, flags, &op->t.req));
      return;
    }
    case 7: {  // receive
      if (s == nullptr) return;
      make_buf(*op, in);
      uint8_t f = in.u8();
      uint32_t flags =
          ((f & 1) != 0 ? xwsk::kFlagWaitAll : 0) | ((f & 2) != 0 ? xwsk::kFlagDrain : 0);
      arm(op->t);
      issue(w, *op, Use::Other, si, xwsk::receive(s, &op->buf, flags, &op->t.req));
      return;
    }
    case 8: {  // disconnect
      if (s == nullptr) return;
      uint8_t f = in.u8();
      const xwsk::Buf* final_data = nullptr;
      if ((f & 2) != 0) {
        make_buf(*op, in);
        final_data = &op->buf;
      }
      arm(op->t);
      issue(w, *op, Use::Other, si,
            xwsk::disconnect(s, final_data, (f & 1) != 0 ? xwsk::kFlagAbortive : 0, &op->t.req));
      return;
    }
    case 9: {  // send_to
      if (s == nullptr) return;
      make_buf(*op, in);
      const xwsk::SockAddr* to = some_address(w, in, fam, &scratch);
      op->addr = to != nullptr ? *to : xwsk::SockAddr{};
      arm(op->t);
      issue(w, *op, Use::Other, si,
            xwsk::send_to(s, &op->buf, 0, to != nullptr ? &op->addr : nullptr, 0, nullptr,
                          &op->t.req));
      return;
    }
    case 10: {  // receive_from
      if (s == nullptr) return;
      make_buf(*op, in);
      op->control_length = 0;
      op->control_flags = 0;
      arm(op->t);
      issue(w, *op, Use::Other, si,
            xwsk::receive_from(s, &op->buf, 0, &op->addr, &op->control_length, nullptr,
                               &op->control_flags, &op->t.req));
      return;
    }
    case 11: {  // events on or off
      if (s == nullptr) return;
      uint8_t e = in.u8();
      xwsk::EventCallbackControl ec{nullptr, kEvents[e % 5]};
      if ((e & 0x08) != 0) ec.event_mask |= kEvents[(e >> 4) % 5];
      if ((e & 0x80) != 0) ec.event_mask |= xwsk::kEventDisable;
      if (in.flag()) {
        Status st =
            xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                                 xwsk::kSolSocket, sizeof ec, &ec, 0, nullptr, nullptr, nullptr);
        if (st == Status::Pending) die("SO_WSK_EVENT_CALLBACK without a request returned Pending");
        return;
      }
      arm(op->t);
      issue(
          w, *op, Use::Other, si,
          xwsk::control_socket(s, xwsk::ControlType::SetOption, xwsk::kSoWskEventCallback,
                               xwsk::kSolSocket, sizeof ec, &ec, 0, nullptr, nullptr, &op->t.req));
      return;
    }
    case 12: {  // close: the handle is never used again once the close is accepted
      if (s == nullptr) return;
      arm(slot->close_req);
      Status st = xwsk::close_socket(s, &slot->close_req.req);
      if (!slot->close_req.settle(st)) die_status("close_socket of an open socket rejected", st);
      std::lock_guard<std::mutex> lock(w.mu);
      slot->state = SlotState::Closed;
      slot->s = nullptr;
      return;
    }
    case 13:  // local address (adopted: later binds and connects may use it)
      if (s == nullptr) return;
      arm(op->t);
      issue(w, *op, Use::LocalAddress, si, xwsk::get_local_address(s, &op->addr, &op->t.req));
      return;
    case 14:  // remote address
      if (s == nullptr) return;
      arm(op->t);
      issue(w, *op, Use::Other, si, xwsk::get_remote_address(s, &op->addr, &op->t.req));
      return;
    default:  // let the loop run
      fuzz::sleep_ms(in.u8() % 3);
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  static World* world = new World;
  World& w = *world;
  g_world = &w;
  int r4 = os_refuser(AF_INET, &w.refuser4);
  int r6 = os_refuser(AF_INET6, &w.refuser6);
  if (r6 < 0) w.refuser6 = xwsk::ipv6_loopback(1);
  {
    fuzz::Session session;
    for (Slot& s : w.slots) {
      s.state = SlotState::Free;
      s.s = nullptr;
      s.have_local = false;
      s.close_req.init();
    }
    for (Op& op : w.ops) {
      op.t.init();
      op.adopted = true;
      op.use = Use::None;
    }
    for (int i = 0; i < kMaxOps && !in.empty(); ++i) {
      reap(w);
      step(w, in, session.client());
    }
    // Close every socket. Sockets still being created or accepted are closed once they exist
    // (an accept still pending completes Cancelled when its listener closes), and an accept
    // event may adopt a socket until its listener's close has completed: repeat until a pass
    // finds nothing to close, nothing reserved, after every close so far has completed.
    for (int round = 0;; ++round) {
      if (round > 5000) die("sockets still being created or accepted after 5 s");
      reap(w);
      bool busy = false;
      for (Slot& slot : w.slots) {
        xwsk::Socket* s = nullptr;
        {
          std::lock_guard<std::mutex> lock(w.mu);
          if (slot.state == SlotState::Reserved) busy = true;
          if (slot.state == SlotState::Open) {
            s = slot.s;
            slot.state = SlotState::Closed;
            slot.s = nullptr;
          }
        }
        if (s == nullptr) continue;
        busy = true;
        arm(slot.close_req);
        Status st = xwsk::close_socket(s, &slot.close_req.req);
        if (!slot.close_req.settle(st)) die_status("close_socket at the end rejected", st);
      }
      for (Slot& slot : w.slots)
        slot.close_req.wait(kWaitMs);
      if (!busy) break;
      fuzz::sleep_ms(1);
    }
    for (Op& op : w.ops)
      op.t.wait(kWaitMs);
    session.finish();
    for (Op& op : w.ops)
      op.t.fini();
    for (Slot& slot : w.slots)
      slot.close_req.fini();
    free_bufs(w);
  }
  if (r4 >= 0) close(r4);
  if (r6 >= 0) close(r6);
  return 0;
}
