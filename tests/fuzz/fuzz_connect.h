// SPDX-License-Identifier: MIT
// The fuzz targets' own loopback TCP connect (the peer of a listener under test), safe under
// libFuzzer's signals. POSIX only: no xwsk, no WDK header, so that every target can link it.
#ifndef XWSK_TESTS_FUZZ_FUZZ_CONNECT_H_
#define XWSK_TESTS_FUZZ_FUZZ_CONNECT_H_

#include <stdint.h>

namespace fuzz {

/// Connects a new TCP socket to 127.0.0.1 (or ::1 when @p v6) port @p port within @p ms
/// milliseconds; returns the connected socket (blocking mode, TCP_NODELAY), or -1 with errno set.
///
/// libFuzzer's -timeout timer sends SIGALRM to the process every timeout/2 + 1 seconds, with no
/// SA_RESTART: a blocking connect() the signal lands in fails with EINTR although the connection
/// goes on and is established in the listener's queue. A caller that then closed the socket and
/// connected again left two connections in that queue, and the pending accept took the first,
/// dead one. So the connect here is non-blocking and waited for with poll() (a signal only
/// repeats the poll). Only the errors that say no connection was made (EADDRNOTAVAIL, EAGAIN:
/// loopback's ephemeral ports in TIME_WAIT after other network tests) are tried again with a new
/// socket, every 10 ms until @p ms is up.
int connect_loopback(bool v6, uint16_t port, uint32_t ms);

}  // namespace fuzz

#endif  // XWSK_TESTS_FUZZ_FUZZ_CONNECT_H_
