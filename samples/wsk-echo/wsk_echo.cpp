// SPDX-License-Identifier: MIT
// wsk_echo: a TCP echo server written against the WSK and WDM interfaces alone, in the style of
// Microsoft's WSK echo server sample. It uses no xwsk API: the same file builds as a Windows
// driver (the WDK, or mingw-w64 + Wine here: xwsk_wsk_echo.sys) and as a Linux module run by
// xwsk-driver-host over umwsk's WSK provider (xwsk_wsk_echo.so). See README.md.
//
// What it does:
//  - DriverEntry registers with WSK (WskRegister) and starts a system thread that captures the
//    provider NPI (WskCaptureProviderNPI may wait, so not in DriverEntry) and opens the
//    listener. Everything else that must run at PASSIVE_LEVEL (opening and closing sockets)
//    runs on one worker system thread.
//  - Listener: an IPv6 socket with IPV6_V6ONLY set to 0 (dual stack: IPv4 clients arrive as
//    IPv4-mapped addresses), bound to [::]:0; the port the provider chose is read back with
//    WskGetLocalAddress and printed ("wsk_echo: serving ..."). Where the provider cannot do that
//    (Wine 8's netio serves IPv4 only and has no WskControlSocket or WskGetLocalAddress), an IPv4
//    listener on 0.0.0.0:40007.
//  - Accept: the static accept event (WSK_SET_STATIC_EVENT_CALLBACKS) where the provider has
//    static event callbacks; otherwise one WskAccept IRP at a time.
//  - Each connection: a receive IRP, a send IRP and one 64 KiB buffer with its MDL; WskReceive,
//  then WskSend of
//    what arrived, then the next WskReceive. At the peer's FIN: WskDisconnect (graceful, where
//    the provider has static event callbacks, which stands for a complete provider; Wine's
//    closes gracefully anyway), then WskCloseSocket. On an error: WskCloseSocket (abortive).
//  - DriverUnload stops accepting, closes every connection (WskCloseSocket cancels what is
//    pending), waits until all are gone, stops the threads, releases the NPI and deregisters.
//
// IRQL: completion routines and the accept event run at IRQL <= DISPATCH_LEVEL and never wait;
// they only issue requests and queue work. Waiting happens on the two system threads and in
// DriverEntry/DriverUnload (PASSIVE_LEVEL).
#include "wsk_ddk.h"  // the WDK's <ntddk.h> + <wsk.h>, whichever DDK this build has

namespace {

constexpr ULONG kTag = 'E' | ('c' << 8) | ('h' << 16) | ('o' << 24);  // "Echo" in pool tools
constexpr ULONG kBufferSize = 64 * 1024;
constexpr USHORT kFallbackPort = 40007;  // for providers that cannot report the bound port

// Network byte order.
USHORT swap16(USHORT v) {
  return static_cast<USHORT>((v >> 8) | (v << 8));
}

const WSK_CLIENT_DISPATCH kClientDispatch = {MAKE_WSK_VERSION(1, 0), 0, nullptr};

// Wine's ddk/wsk.h declares the accept event's context out-parameter as `void *`, the WDK's as
// `PVOID *` (the same pointer in the ABI).
#if defined(_INC_WSK) && !defined(_WSK_)
using AcceptContextOut = void*;
#else
using AcceptContextOut = PVOID*;
#endif

// ---- connections ----------------------------------------------------------------------------

enum class Job : LONG { kNone = 0, kStart, kDisconnect, kClose };

struct Connection {
  LIST_ENTRY link;      // Server::connections
  LIST_ENTRY job_link;  // Server::jobs while a job is queued
  PWSK_SOCKET socket;
  PIRP irp;        // WskReceive, then (after it completed) the next one
  PIRP send_irp;   // WskSend of what the last receive brought
  PIRP close_irp;  // disconnect, then close (may start while irp is pending)
  PMDL mdl;
  UCHAR* buffer;
  // The WSK_BUFs stay valid until their operation completes (a provider may read them later).
  WSK_BUF receive_buf;
  WSK_BUF send_buf;
  Job job;       // the queued job (worker thread)
  LONG closing;  // set once: no new operation is issued after it
  LONG issuing;  // advance(): 1 while it issues an operation, 2 if that completed inline
};

NTSTATUS NTAPI on_accept_event(PVOID socket_context, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
                               PWSK_SOCKET accept_socket, AcceptContextOut accept_socket_context,
                               const WSK_CLIENT_CONNECTION_DISPATCH** accept_socket_dispatch);

const WSK_CLIENT_LISTEN_DISPATCH kListenDispatch = {on_accept_event, nullptr, nullptr};
const WSK_CLIENT_CONNECTION_DISPATCH kConnectionDispatch = {nullptr, nullptr, nullptr};

// ---- the server (one per driver; constant-initialized: no static constructors in a driver) --

struct Server {
  WSK_CLIENT_NPI client_npi;
  WSK_REGISTRATION registration;
  WSK_PROVIDER_NPI provider;
  bool registered;
  bool captured;
  bool events;  // the provider has static event callbacks (and so a complete WSK)
  PWSK_SOCKET listener;
  PIRP accept_irp;  // IRP accept mode only
  KSPIN_LOCK lock;  // guards connections, jobs, live, accept_wanted
  LIST_ENTRY connections;
  LIST_ENTRY jobs;
  LONG live;  // connections not yet freed
  bool accept_wanted;
  LONG stopping;
  KEVENT work;  // SynchronizationEvent: jobs queued, stopping, or the last connection gone
  PVOID start_thread;
  PVOID worker_thread;
};

Server g_server;

// unload() sets stopping with InterlockedExchange while completion routines and the worker
// read it on other threads: read it atomically too (a plain read is a data race, ThreadSanitizer).
bool server_stopping() {
  return InterlockedCompareExchange(&g_server.stopping, 0, 0) != 0;
}

// ---- a synchronous call at PASSIVE_LEVEL (setup and teardown of the listener) ----------------

NTSTATUS NTAPI sync_done(PDEVICE_OBJECT, PIRP, PVOID context) {
  KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

struct SyncCall {
  PIRP irp;
  KEVENT done;
  bool init() {
    irp = IoAllocateIrp(1, FALSE);
    KeInitializeEvent(&done, SynchronizationEvent, FALSE);
    return irp != nullptr;
  }
  PIRP arm() {
    IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
    IoSetCompletionRoutine(irp, sync_done, &done, TRUE, TRUE, TRUE);
    return irp;
  }
  // A provider that returns anything but STATUS_PENDING has completed the IRP already (or, for
  // Wine's stubs, never will): only STATUS_PENDING is waited for.
  NTSTATUS wait(NTSTATUS returned) {
    if (returned != STATUS_PENDING) {
      KeClearEvent(&done);  // set if the IRP completed inside the call
      return returned;
    }
    KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    return irp->IoStatus.Status;
  }
  void fini() {
    if (irp != nullptr) IoFreeIrp(irp);
    irp = nullptr;
  }
};

const WSK_PROVIDER_LISTEN_DISPATCH* listen_dispatch(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_LISTEN_DISPATCH*>(s->Dispatch);
}
const WSK_PROVIDER_CONNECTION_DISPATCH* connection_dispatch(PWSK_SOCKET s) {
  return static_cast<const WSK_PROVIDER_CONNECTION_DISPATCH*>(s->Dispatch);
}

// ---- the worker: jobs that must run at PASSIVE_LEVEL, never from a completion routine ---------

void queue_job(Connection* c, Job job) {
  KIRQL irql;
  KeAcquireSpinLock(&g_server.lock, &irql);
  bool queued = c->job != Job::kNone;
  c->job = job;  // a later job replaces an earlier one that has not run yet
  if (!queued) InsertTailList(&g_server.jobs, &c->job_link);
  KeReleaseSpinLock(&g_server.lock, irql);
  KeSetEvent(&g_server.work, IO_NO_INCREMENT, FALSE);
}

void want_accept() {
  KIRQL irql;
  KeAcquireSpinLock(&g_server.lock, &irql);
  g_server.accept_wanted = true;
  KeReleaseSpinLock(&g_server.lock, irql);
  KeSetEvent(&g_server.work, IO_NO_INCREMENT, FALSE);
}

void connection_free(Connection* c) {
  if (c->irp != nullptr) IoFreeIrp(c->irp);
  if (c->close_irp != nullptr) IoFreeIrp(c->close_irp);
  if (c->send_irp != nullptr) IoFreeIrp(c->send_irp);
  if (c->mdl != nullptr) IoFreeMdl(c->mdl);
  if (c->buffer != nullptr) ExFreePoolWithTag(c->buffer, kTag);
  KIRQL irql;
  KeAcquireSpinLock(&g_server.lock, &irql);
  if (c->link.Flink != nullptr) RemoveEntryList(&c->link);
  LONG left = --g_server.live;
  bool stopping = server_stopping();
  KeReleaseSpinLock(&g_server.lock, irql);
  ExFreePoolWithTag(c, kTag);
  if (left == 0 && stopping) KeSetEvent(&g_server.work, IO_NO_INCREMENT, FALSE);
}

// A new connection object for @p socket (IRQL <= DISPATCH_LEVEL). Null when out of memory or
// stopping; the caller then gives the socket back.
Connection* connection_new(PWSK_SOCKET socket) {
  auto* c = static_cast<Connection*>(
      ExAllocatePoolWithTag(xwsk::kernel::kNonPagedPool, sizeof(Connection), kTag));
  if (c == nullptr) return nullptr;
  RtlZeroMemory(c, sizeof *c);
  c->socket = socket;
  c->buffer =
      static_cast<UCHAR*>(ExAllocatePoolWithTag(xwsk::kernel::kNonPagedPool, kBufferSize, kTag));
  c->irp = IoAllocateIrp(1, FALSE);
  c->close_irp = IoAllocateIrp(1, FALSE);
  c->send_irp = IoAllocateIrp(1, FALSE);
  if (c->buffer != nullptr) c->mdl = IoAllocateMdl(c->buffer, kBufferSize, FALSE, FALSE, nullptr);
  KIRQL irql;
  KeAcquireSpinLock(&g_server.lock, &irql);
  ++g_server.live;
  bool ok = !server_stopping() && c->buffer != nullptr && c->irp != nullptr &&
            c->close_irp != nullptr && c->send_irp != nullptr && c->mdl != nullptr;
  if (ok) InsertTailList(&g_server.connections, &c->link);
  KeReleaseSpinLock(&g_server.lock, irql);
  if (!ok) {
    c->socket = nullptr;
    connection_free(c);
    return nullptr;
  }
  MmBuildMdlForNonPagedPool(c->mdl);
  return c;
}

// ---- the data path (completion routines, IRQL <= DISPATCH_LEVEL) ------------------------------
//
// Receive and send alternate, one in flight at a time. A provider may complete an operation
// inside the call that issues it (data was already there, the send fitted), and then the
// completion routine would issue the next one from within that call, and so on: a recursion
// as deep as the stream is long. So the routine only hands an inline completion back to the
// issuing loop (`issuing` 1 -> 2), which takes the next step itself.

enum class Step { kReceived, kSent };

void begin_close(Connection* c, bool graceful) {
  if (InterlockedExchange(&c->closing, 1) != 0) return;
  queue_job(c, graceful && g_server.events ? Job::kDisconnect : Job::kClose);
}

NTSTATUS NTAPI on_data_done(PDEVICE_OBJECT, PIRP irp, PVOID context);

// Issues what follows @p step, whose IRP completed with @p irp's status, until an operation
// stays pending or the connection closes.
void advance(Connection* c, Step step, PIRP irp) {
  for (;;) {
    NTSTATUS st = irp->IoStatus.Status;
    ULONG_PTR n = irp->IoStatus.Information;
    if (!NT_SUCCESS(st) || c->closing != 0 || (step == Step::kReceived && n == 0)) {
      begin_close(c, NT_SUCCESS(st) && step == Step::kReceived && n == 0);  // 0: the peer's FIN
      return;
    }
    const WSK_PROVIDER_CONNECTION_DISPATCH* d = connection_dispatch(c->socket);
    InterlockedExchange(&c->issuing, 1);
    if (step == Step::kReceived) {  // echo what arrived
      c->send_buf = WSK_BUF{c->mdl, 0, n};
      irp = c->send_irp;
      step = Step::kSent;
      IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
      IoSetCompletionRoutine(irp, on_data_done, c, TRUE, TRUE, TRUE);
      d->WskSend(c->socket, &c->send_buf, 0, irp);
    } else {  // then receive the next piece
      c->receive_buf = WSK_BUF{c->mdl, 0, kBufferSize};
      irp = c->irp;
      step = Step::kReceived;
      IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
      IoSetCompletionRoutine(irp, on_data_done, c, TRUE, TRUE, TRUE);
      d->WskReceive(c->socket, &c->receive_buf, 0, irp);
    }
    // 2: it completed inside the call (the routine left it to us); 1: still pending.
    if (InterlockedExchange(&c->issuing, 0) != 2) return;
  }
}

NTSTATUS NTAPI on_data_done(PDEVICE_OBJECT, PIRP irp, PVOID context) {
  auto* c = static_cast<Connection*>(context);
  if (InterlockedCompareExchange(&c->issuing, 2, 1) != 1) {
    advance(c, irp == c->irp ? Step::kReceived : Step::kSent, irp);
  }
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// The first receive of a new connection (worker thread): as if a send had just completed.
void start_receiving(Connection* c) {
  c->send_irp->IoStatus.Status = STATUS_SUCCESS;
  c->send_irp->IoStatus.Information = 0;
  advance(c, Step::kSent, c->send_irp);
}

NTSTATUS NTAPI on_closed(PDEVICE_OBJECT, PIRP, PVOID context) {
  connection_free(static_cast<Connection*>(context));
  return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS NTAPI on_disconnected(PDEVICE_OBJECT, PIRP, PVOID context) {
  queue_job(static_cast<Connection*>(context), Job::kClose);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// ---- accepting ----------------------------------------------------------------------------------

NTSTATUS NTAPI on_accept_event(PVOID, ULONG, PSOCKADDR, PSOCKADDR, PWSK_SOCKET accept_socket,
                               AcceptContextOut accept_socket_context,
                               const WSK_CLIENT_CONNECTION_DISPATCH** accept_socket_dispatch) {
  if (accept_socket == nullptr) return STATUS_SUCCESS;  // the listener is closing
  Connection* c = connection_new(accept_socket);
  if (c == nullptr) return STATUS_REQUEST_NOT_ACCEPTED;  // the provider resets it
  *static_cast<PVOID*>(accept_socket_context) = c;
  *accept_socket_dispatch = &kConnectionDispatch;
  // The socket is ours once this returns: the worker posts its first receive.
  queue_job(c, Job::kStart);
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI on_accepted(PDEVICE_OBJECT, PIRP irp, PVOID) {
  if (NT_SUCCESS(irp->IoStatus.Status)) {
    auto* socket = reinterpret_cast<PWSK_SOCKET>(irp->IoStatus.Information);
    Connection* c = connection_new(socket);
    if (c != nullptr) {
      queue_job(c, Job::kStart);
    } else {
      // No memory or stopping: give the socket back (the worker closes it).
      auto* orphan = static_cast<Connection*>(
          ExAllocatePoolWithTag(xwsk::kernel::kNonPagedPool, sizeof(Connection), kTag));
      if (orphan != nullptr) {
        RtlZeroMemory(orphan, sizeof *orphan);
        orphan->socket = socket;
        orphan->close_irp = IoAllocateIrp(1, FALSE);
        KIRQL irql;
        KeAcquireSpinLock(&g_server.lock, &irql);
        ++g_server.live;
        KeReleaseSpinLock(&g_server.lock, irql);
        orphan->closing = 1;
        if (orphan->close_irp != nullptr) {
          queue_job(orphan, Job::kClose);
        } else {
          connection_free(orphan);  // the socket leaks until the client deregisters
        }
      }
    }
  }
  if (!server_stopping() && irp->IoStatus.Status != STATUS_CANCELLED) want_accept();
  return STATUS_MORE_PROCESSING_REQUIRED;
}

void post_accept() {
  IoReuseIrp(g_server.accept_irp, STATUS_UNSUCCESSFUL);
  IoSetCompletionRoutine(g_server.accept_irp, on_accepted, nullptr, TRUE, TRUE, TRUE);
  listen_dispatch(g_server.listener)
      ->WskAccept(g_server.listener, 0, nullptr, &kConnectionDispatch, nullptr, nullptr,
                  g_server.accept_irp);
}

// ---- the worker thread
// ---------------------------------------------------------------------------

void run_job(Connection* c, Job job) {
  switch (job) {
    case Job::kStart:
      start_receiving(c);
      break;
    case Job::kDisconnect:
      IoReuseIrp(c->close_irp, STATUS_UNSUCCESSFUL);
      IoSetCompletionRoutine(c->close_irp, on_disconnected, c, TRUE, TRUE, TRUE);
      connection_dispatch(c->socket)->WskDisconnect(c->socket, nullptr, 0, c->close_irp);
      break;
    case Job::kClose:
      IoReuseIrp(c->close_irp, STATUS_UNSUCCESSFUL);
      IoSetCompletionRoutine(c->close_irp, on_closed, c, TRUE, TRUE, TRUE);
      connection_dispatch(c->socket)->Basic.WskCloseSocket(c->socket, c->close_irp);
      break;
    case Job::kNone:
      break;
  }
}

// Unload: every connection that is not closing yet is closed (abortive); WskCloseSocket
// cancels its pending receive or send first.
void close_all() {
  KIRQL irql;
  KeAcquireSpinLock(&g_server.lock, &irql);
  for (LIST_ENTRY* e = g_server.connections.Flink; e != &g_server.connections; e = e->Flink) {
    Connection* c = CONTAINING_RECORD(e, Connection, link);
    if (InterlockedExchange(&c->closing, 1) != 0) continue;
    bool queued = c->job != Job::kNone;
    c->job = Job::kClose;
    if (!queued) InsertTailList(&g_server.jobs, &c->job_link);
  }
  KeReleaseSpinLock(&g_server.lock, irql);
}

VOID worker(PVOID) {
  bool closed_all = false;
  for (;;) {
    KeWaitForSingleObject(&g_server.work, Executive, KernelMode, FALSE, nullptr);
    if (server_stopping() && !closed_all) {
      close_all();
      closed_all = true;
    }
    for (;;) {
      KIRQL irql;
      KeAcquireSpinLock(&g_server.lock, &irql);
      bool accept = g_server.accept_wanted && !server_stopping();
      g_server.accept_wanted = false;
      Connection* c = nullptr;
      Job job = Job::kNone;
      if (!IsListEmpty(&g_server.jobs)) {
        c = CONTAINING_RECORD(RemoveHeadList(&g_server.jobs), Connection, job_link);
        job = c->job;
        c->job = Job::kNone;
      }
      LONG live = g_server.live;
      KeReleaseSpinLock(&g_server.lock, irql);
      if (accept) post_accept();
      if (c == nullptr) {
        if (server_stopping() && live == 0) PsTerminateSystemThread(STATUS_SUCCESS);
        break;
      }
      run_job(c, job);
    }
  }
}

// ---- the listener (start thread, PASSIVE_LEVEL) -------------------------------------------------

void close_socket_sync(SyncCall* call, PWSK_SOCKET s) {
  const auto* basic = static_cast<const WSK_PROVIDER_BASIC_DISPATCH*>(s->Dispatch);
  call->wait(basic->WskCloseSocket(s, call->arm()));
}

// Opens a listener of @p family bound to @p port (0: the provider picks). Returns the socket,
// or null; *port is the port it listens on, 0 if the provider cannot say.
PWSK_SOCKET open_listener(SyncCall* call, ADDRESS_FAMILY family, USHORT* port) {
  const WSK_PROVIDER_DISPATCH* d = g_server.provider.Dispatch;
  NTSTATUS st = call->wait(d->WskSocket(
      g_server.provider.Client, family, SOCK_STREAM, IPPROTO_TCP, WSK_FLAG_LISTEN_SOCKET, &g_server,
      g_server.events ? &kListenDispatch : nullptr, nullptr, nullptr, nullptr, call->arm()));
  if (!NT_SUCCESS(st)) return nullptr;
  auto* s = reinterpret_cast<PWSK_SOCKET>(call->irp->IoStatus.Information);
  SOCKADDR_STORAGE addr;
  RtlZeroMemory(&addr, sizeof addr);
  if (family == AF_INET6) {
    ULONG v6only = 0;  // dual stack
    st = call->wait(listen_dispatch(s)->Basic.WskControlSocket(s, WskSetOption, IPV6_V6ONLY,
                                                               IPPROTO_IPV6, sizeof v6only, &v6only,
                                                               0, nullptr, nullptr, call->arm()));
    auto* in6 = reinterpret_cast<SOCKADDR_IN6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = swap16(*port);
  } else {
    auto* in = reinterpret_cast<SOCKADDR_IN*>(&addr);
    in->sin_family = AF_INET;
    in->sin_port = swap16(*port);
  }
  if (NT_SUCCESS(st)) {
    st = call->wait(
        listen_dispatch(s)->WskBind(s, reinterpret_cast<PSOCKADDR>(&addr), 0, call->arm()));
  }
  if (NT_SUCCESS(st) && *port == 0) {
    SOCKADDR_STORAGE local;
    RtlZeroMemory(&local, sizeof local);
    NTSTATUS q = call->wait(listen_dispatch(s)->WskGetLocalAddress(
        s, reinterpret_cast<PSOCKADDR>(&local), call->arm()));
    // Both SOCKADDR_IN and SOCKADDR_IN6 keep the port right after the family.
    if (NT_SUCCESS(q)) *port = swap16(reinterpret_cast<SOCKADDR_IN*>(&local)->sin_port);
  }
  if (!NT_SUCCESS(st)) {
    close_socket_sync(call, s);
    return nullptr;
  }
  return s;
}

VOID start(PVOID) {
  NTSTATUS st =
      WskCaptureProviderNPI(&g_server.registration, WSK_INFINITE_WAIT, &g_server.provider);
  if (!NT_SUCCESS(st)) {
    DbgPrint("wsk_echo: WskCaptureProviderNPI failed: 0x%08x\n", static_cast<unsigned>(st));
    PsTerminateSystemThread(st);
  }
  g_server.captured = true;

  // Static event callbacks: the accept event on every listening socket.
  WSK_EVENT_CALLBACK_CONTROL events{const_cast<PNPIID>(&NPI_WSK_INTERFACE_ID), WSK_EVENT_ACCEPT};
  st = g_server.provider.Dispatch->WskControlClient(g_server.provider.Client,
                                                    WSK_SET_STATIC_EVENT_CALLBACKS, sizeof events,
                                                    &events, 0, nullptr, nullptr, nullptr);
  g_server.events = NT_SUCCESS(st);

  SyncCall call;
  if (!call.init()) PsTerminateSystemThread(STATUS_INSUFFICIENT_RESOURCES);
  USHORT port = 0;
  const char* where = "[::]";
  PWSK_SOCKET s = open_listener(&call, AF_INET6, &port);
  if (s != nullptr && port == 0) {  // listening, but the provider cannot say where
    close_socket_sync(&call, s);
    s = nullptr;
  }
  if (s == nullptr) {
    where = "0.0.0.0";
    port = 0;
    s = open_listener(&call, AF_INET, &port);
    if (s != nullptr && port == 0) {
      close_socket_sync(&call, s);
      port = kFallbackPort;
      s = open_listener(&call, AF_INET, &port);
    }
  }
  call.fini();
  if (s == nullptr) {
    DbgPrint("wsk_echo: no listener could be opened\n");
    PsTerminateSystemThread(STATUS_UNSUCCESSFUL);
  }
  g_server.listener = s;
  DbgPrint("wsk_echo: serving %s:%u (%s)\n", where, static_cast<unsigned>(port),
           g_server.events ? "dual stack, accept event" : "IPv4, WskAccept IRPs");
  if (!g_server.events) want_accept();
  PsTerminateSystemThread(STATUS_SUCCESS);
}

// ---- load and unload ----------------------------------------------------------------------------

NTSTATUS start_thread(PKSTART_ROUTINE routine, PVOID* object) {
  HANDLE h = nullptr;
  NTSTATUS st =
      PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, routine, nullptr);
  if (!NT_SUCCESS(st)) return st;
  st = ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, nullptr, KernelMode, object, nullptr);
  ZwClose(h);
  return st;
}

void wait_thread(PVOID* object) {
  if (*object == nullptr) return;
  KeWaitForSingleObject(*object, Executive, KernelMode, FALSE, nullptr);
  ObDereferenceObject(*object);
  *object = nullptr;
}

VOID unload(PDRIVER_OBJECT) {
  wait_thread(&g_server.start_thread);  // the listener is open (or failed) after this
  InterlockedExchange(&g_server.stopping, 1);
  if (g_server.listener != nullptr) {
    SyncCall call;
    if (call.init()) {
      close_socket_sync(&call, g_server.listener);  // completes a pending WskAccept first
      call.fini();
    }
    g_server.listener = nullptr;
  }
  KeSetEvent(&g_server.work, IO_NO_INCREMENT, FALSE);  // the worker closes every connection
  wait_thread(&g_server.worker_thread);                // ... and ends when none is left
  if (g_server.accept_irp != nullptr) IoFreeIrp(g_server.accept_irp);
  if (g_server.captured) WskReleaseProviderNPI(&g_server.registration);
  if (g_server.registered) WskDeregister(&g_server.registration);
  DbgPrint("wsk_echo: unloaded\n");
}

}  // namespace

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path);

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
  KeInitializeSpinLock(&g_server.lock);
  InitializeListHead(&g_server.connections);
  InitializeListHead(&g_server.jobs);
  KeInitializeEvent(&g_server.work, SynchronizationEvent, FALSE);
  g_server.accept_irp = IoAllocateIrp(1, FALSE);
  if (g_server.accept_irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;

  g_server.client_npi.ClientContext = &g_server;
  g_server.client_npi.Dispatch = &kClientDispatch;
  NTSTATUS st = WskRegister(&g_server.client_npi, &g_server.registration);
  if (!NT_SUCCESS(st)) {
    IoFreeIrp(g_server.accept_irp);
    return st;
  }
  g_server.registered = true;
  driver->DriverUnload = unload;
  st = start_thread(worker, &g_server.worker_thread);
  if (NT_SUCCESS(st)) st = start_thread(start, &g_server.start_thread);
  if (!NT_SUCCESS(st)) {
    unload(driver);
    return st;
  }
  return STATUS_SUCCESS;
}
