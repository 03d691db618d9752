// bench-server-asio: peer "A", standalone asio (Debian 1.22), io_context(1), callbacks.
//
// Every operation a connection can have outstanding (accept, read, write) owns one
// HandlerSlot: a fixed block that the handler's associated allocator hands to asio for the
// operation object. asio frees that memory before it calls the handler, so the next
// operation started from inside the handler reuses the same block: nothing is allocated per
// operation (heap_fallbacks in the stats line counts any miss). Echo reads with
// async_read_some, writes what it can with a non-blocking write_some and hands only a tail
// to async_write (reading stops until it is done). UDP is one async_receive_from loop with
// a non-blocking send_to for the echo; asio has no recvmmsg.
#include <asio.hpp>
#include <csignal>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "common/server_common.h"

namespace {

using asio::ip::tcp;
using asio::ip::udp;
using bench::Mode;

bench::Counters g_counters;

class HandlerSlot {
 public:
  HandlerSlot() = default;
  HandlerSlot(const HandlerSlot&) = delete;
  HandlerSlot& operator=(const HandlerSlot&) = delete;

  void* Allocate(std::size_t n) {
    if (!in_use_ && n <= sizeof storage_) {
      in_use_ = true;
      return storage_;
    }
    ++g_counters.heap_fallbacks;
    return ::operator new(n);
  }
  void Deallocate(void* p) {
    if (p == storage_) {
      in_use_ = false;
    } else {
      ::operator delete(p);
    }
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[1024];
  bool in_use_ = false;
};

template <typename T>
class SlotAllocator {
 public:
  using value_type = T;
  explicit SlotAllocator(HandlerSlot* slot) noexcept : slot_(slot) {}
  template <typename U>
  SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot()) {}
  T* allocate(std::size_t n) { return static_cast<T*>(slot_->Allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) { slot_->Deallocate(p); }
  HandlerSlot* slot() const noexcept { return slot_; }
  template <typename U>
  bool operator==(const SlotAllocator<U>& o) const noexcept {
    return slot_ == o.slot();
  }
  template <typename U>
  bool operator!=(const SlotAllocator<U>& o) const noexcept {
    return slot_ != o.slot();
  }

 private:
  HandlerSlot* slot_;
};

// A completion handler whose associated allocator draws from one slot.
template <typename Fn>
class SlotHandler {
 public:
  using allocator_type = SlotAllocator<std::byte>;
  SlotHandler(HandlerSlot* slot, Fn fn) : slot_(slot), fn_(std::move(fn)) {}
  allocator_type get_allocator() const noexcept { return allocator_type(slot_); }
  template <typename... Args>
  void operator()(Args&&... args) {
    fn_(std::forward<Args>(args)...);
  }

 private:
  HandlerSlot* slot_;
  Fn fn_;
};

template <typename Fn>
SlotHandler<Fn> Bind(HandlerSlot& slot, Fn fn) {
  return SlotHandler<Fn>(&slot, std::move(fn));
}

class Server;

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  HandlerSlot read_slot;
  HandlerSlot write_slot;
  Conn* next_free = nullptr;
  char buf[bench::kReadSize];
};

class Server {
 public:
  Server(asio::io_context& io, const bench::ServerOptions& opts, const bench::BoundPair& bound)
      : io_(io), opts_(opts), acceptor_(io), udp_(io), signals_(io, SIGUSR1, SIGTERM, SIGINT) {
    acceptor_.assign(tcp::v4(), bound.tcp_fd);
    udp_.assign(udp::v4(), bound.udp_fd);
    udp_.non_blocking(true);
  }

  void Start() {
    StartAccept();
    StartUdp();
    WaitSignal();
  }

 private:
  Conn* NewConn() {
    if (free_list_ != nullptr) {
      Conn* c = free_list_;
      free_list_ = c->next_free;
      return c;
    }
    return new Conn(io_);  // grows once per concurrent connection, never per operation
  }
  void Release(Conn* c) {
    asio::error_code ignored;
    c->socket.close(ignored);
    c->next_free = free_list_;
    free_list_ = c;
  }

  void StartAccept() {
    accepting_ = NewConn();
    acceptor_.async_accept(accepting_->socket, Bind(accept_slot_, [this](asio::error_code ec) {
                             Conn* c = accepting_;
                             if (ec) {
                               Release(c);
                             } else {
                               ++g_counters.tcp_accepts;
                               asio::error_code ignored;
                               c->socket.set_option(tcp::no_delay(true), ignored);
                               c->socket.non_blocking(true, ignored);
                               StartRead(c);
                             }
                             StartAccept();
                           }));
  }

  void StartRead(Conn* c) {
    c->socket.async_read_some(
        asio::buffer(c->buf, sizeof c->buf),
        Bind(c->read_slot, [this, c](asio::error_code ec, std::size_t n) { OnRead(c, ec, n); }));
  }

  void OnRead(Conn* c, asio::error_code ec, std::size_t n) {
    if (ec) {
      Release(c);
      return;
    }
    ++g_counters.tcp_reads;
    g_counters.tcp_rx_bytes += n;
    if (opts_.mode == Mode::kSink) {
      StartRead(c);
      return;
    }
    asio::error_code wec;
    std::size_t w = c->socket.write_some(asio::buffer(c->buf, n), wec);
    if (wec == asio::error::would_block || wec == asio::error::try_again) {
      w = 0;
    } else if (wec) {
      Release(c);
      return;
    }
    g_counters.tcp_tx_bytes += w;
    if (w == n) {
      StartRead(c);
      return;
    }
    asio::async_write(c->socket, asio::buffer(c->buf + w, n - w),
                      Bind(c->write_slot, [this, c](asio::error_code ec2, std::size_t m) {
                        if (ec2) {
                          Release(c);
                          return;
                        }
                        g_counters.tcp_tx_bytes += m;
                        StartRead(c);
                      }));
  }

  void StartUdp() {
    udp_.async_receive_from(asio::buffer(udp_buf_, sizeof udp_buf_), udp_peer_,
                            Bind(udp_slot_, [this](asio::error_code ec, std::size_t n) {
                              if (!ec) {
                                ++g_counters.udp_rx;
                                if (opts_.mode == Mode::kEcho) {
                                  asio::error_code sec;
                                  udp_.send_to(asio::buffer(udp_buf_, n), udp_peer_, 0, sec);
                                  if (sec) {
                                    ++g_counters.udp_drops;
                                  } else {
                                    ++g_counters.udp_tx;
                                  }
                                }
                              }
                              StartUdp();
                            }));
  }

  void WaitSignal() {
    signals_.async_wait([this](asio::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGUSR1) {
        bench::PrintStats("asio", "usr1", ++seq_, g_counters);
        WaitSignal();
        return;
      }
      bench::PrintStats("asio", "exit", ++seq_, g_counters);
      io_.stop();
    });
  }

  asio::io_context& io_;
  bench::ServerOptions opts_;
  tcp::acceptor acceptor_;
  udp::socket udp_;
  asio::signal_set signals_;
  HandlerSlot accept_slot_;
  HandlerSlot udp_slot_;
  Conn* accepting_ = nullptr;
  Conn* free_list_ = nullptr;
  udp::endpoint udp_peer_;
  uint64_t seq_ = 0;
  char udp_buf_[bench::kUdpMaxDatagram];
};

}  // namespace

int main(int argc, char** argv) {
  bench::ServerOptions opts;
  bench::BoundPair bound = bench::StartServer(argc, argv, &opts);
  asio::io_context io(1);
  auto server = std::make_unique<Server>(io, opts, bound);
  server->Start();
  bench::PrintListening(opts, bound.port);
  io.run();
  return 0;
}
