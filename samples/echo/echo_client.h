// SPDX-License-Identifier: MIT
// The echo client: sends random bytes to an echo server and checks what comes back.
//
// TCP: --bytes is the total, split evenly over the connections (the first ones take the
// remainder). Each connection sends a seekable random stream (echo::pattern_fill, its own seed)
// with one send and one receive always in flight, then disconnects gracefully (FIN) and expects
// the server's FIN after the last byte. Every received byte is compared with the stream at its
// offset, and FNV-1a 64 is computed over what was sent and over what came back.
//
// UDP: --bytes is the total payload, cut into datagrams of --datagram-size bytes (a 24-byte
// header: magic, payload length, sequence number, CRC-32 of the payload; then the payload). At
// most --window datagrams are outstanding; one not echoed within the retransmission timeout is
// sent again, up to a bound, then counted lost. An echo is accepted when its header, CRC and
// payload all match the datagram with that sequence number; duplicates are counted, not used.
#ifndef XWSK_SAMPLES_ECHO_ECHO_CLIENT_H_
#define XWSK_SAMPLES_ECHO_ECHO_CLIENT_H_

#include <stddef.h>
#include <stdint.h>

#include "echo_common.h"
#include "xwsk/xwsk.h"

namespace echo {

struct ClientConfig {
  xwsk::SockAddr remote{};
  bool udp = false;
  uint64_t bytes = 1u << 20;
  uint32_t connections = 1;     ///< TCP
  uint32_t timeout_ms = 60000;  ///< The whole run, connects included.
  size_t datagram_size = 1200;  ///< UDP: bytes per datagram, header included.
  uint32_t window = 64;         ///< UDP: datagrams outstanding at most.
  uint32_t rto_ms = 200;        ///< UDP: retransmission timeout.
  uint32_t max_tries = 10;      ///< UDP: sends per datagram before it counts as lost.
  uint64_t seed = 0;            ///< 0: random.
};

constexpr size_t kDatagramHeader = 24;

struct ConnectionReport {
  uint64_t bytes = 0;  ///< To send.
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t fnv_sent = kFnvBasis;
  uint64_t fnv_received = kFnvBasis;
  bool ok = false;
};

struct ClientReport {
  bool ok = false;
  char error[256] = {};                         ///< What went wrong, when !ok.
  xwsk::Status status = xwsk::Status::Success;  ///< The failing status, if one.
  bool udp = false;
  uint64_t bytes = 0;          ///< Requested.
  uint64_t sent = 0;           ///< Payload bytes sent (first transmissions).
  uint64_t received = 0;       ///< Payload bytes echoed and verified.
  uint64_t checksum_sent = 0;  ///< TCP: FNV-1a 64 over the per-connection FNVs; UDP: CRC sum.
  uint64_t checksum_received = 0;
  double elapsed_s = 0;
  double mb_per_s = 0;  ///< Echoed payload, 10^6 bytes per second.
  // TCP
  uint32_t connections = 0;
  ConnectionReport* per_connection = nullptr;  ///< connections entries (owned).
  // UDP
  uint64_t datagrams = 0;
  uint64_t datagrams_echoed = 0;
  uint64_t retransmits = 0;
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t corrupt = 0;
  size_t datagram_size = 0;

  ClientReport() = default;
  ~ClientReport() { delete[] per_connection; }
  ClientReport(const ClientReport&) = delete;
  ClientReport& operator=(const ClientReport&) = delete;
};

/// Runs the TCP or UDP client (per @p config.udp) and fills @p report. Main thread only: it
/// waits for the run to end (or time out), closes every socket and waits for them.
void run_client(xwsk::Client* client, const ClientConfig& config, ClientReport* report);

}  // namespace echo

#endif  // XWSK_SAMPLES_ECHO_ECHO_CLIENT_H_
