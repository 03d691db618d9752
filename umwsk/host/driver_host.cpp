// SPDX-License-Identifier: MIT
// xwsk-driver-host: runs a WSK driver as a Linux process, as the kernel would run it.
//
//   xwsk-driver-host [--name NAME] [--seconds N] DRIVER.so
//
// Loads DRIVER.so (a driver built against umwsk's headers and linked to libxwsk_umwsk.so),
// calls its DriverEntry at PASSIVE_LEVEL with a DRIVER_OBJECT and the registry path
// \Registry\Machine\System\CurrentControlSet\Services\NAME, then waits for SIGINT or SIGTERM
// (or N seconds), calls DriverUnload, and reports what the driver left behind: pool by tag,
// IRPs, MDLs, sockets, registrations, system threads. Exit status: 0 clean, 1 DriverEntry
// failed, 2 bad usage or the driver could not be loaded, 3 the driver has no DriverUnload,
// 4 something was left allocated or open after DriverUnload.
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <ntddk.h>

#include "umwsk.h"

namespace {

constexpr const char* kUsage =
    "usage: xwsk-driver-host [--name NAME] [--seconds N] DRIVER.so\n"
    "  Loads DRIVER.so, calls DriverEntry, waits for SIGINT/SIGTERM (or N seconds),\n"
    "  calls DriverUnload and reports leaks. NAME defaults to the file name without .so.\n";

struct Options {
  const char* driver = nullptr;
  char name[128] = {};
  long seconds = -1;  // -1: until a signal
};

bool parse_seconds(const char* text, long* out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  long v = strtol(text, &end, 10);
  if (*end != '\0' || v < 0 || v > 7 * 24 * 3600) return false;
  *out = v;
  return true;
}

// The service name from "path/to/name.so".
void default_name(const char* path, char* out, size_t cap) {
  const char* base = strrchr(path, '/');
  base = base != nullptr ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 3 && strcmp(base + n - 3, ".so") == 0) n -= 3;
  if (n >= cap) n = cap - 1;
  memcpy(out, base, n);
  out[n] = '\0';
}

// Returns 0 when the arguments are usable, else prints why and returns 2.
int parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(kUsage, stdout);
      exit(0);
    } else if (strcmp(a, "--name") == 0 && i + 1 < argc) {
      const char* v = argv[++i];
      size_t n = strlen(v);
      if (n == 0 || n >= sizeof o->name || strchr(v, '\\') != nullptr) {
        fprintf(stderr, "xwsk-driver-host: --name: 1 to %zu characters, no backslash\n",
                sizeof o->name - 1);
        return 2;
      }
      memcpy(o->name, v, n + 1);
    } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
      if (!parse_seconds(argv[++i], &o->seconds)) {
        fprintf(stderr, "xwsk-driver-host: --seconds: a whole number from 0 to 604800\n");
        return 2;
      }
    } else if (a[0] == '-') {
      fprintf(stderr, "xwsk-driver-host: unknown or incomplete option %s\n%s", a, kUsage);
      return 2;
    } else if (o->driver == nullptr) {
      o->driver = a;
    } else {
      fprintf(stderr, "xwsk-driver-host: one driver at a time\n%s", kUsage);
      return 2;
    }
  }
  if (o->driver == nullptr) {
    fputs(kUsage, stderr);
    return 2;
  }
  if (o->name[0] == '\0') default_name(o->driver, o->name, sizeof o->name);
  return 0;
}

// Waits for SIGINT/SIGTERM (blocked in every thread since before DriverEntry) or the timeout.
void wait_for_stop(const sigset_t* set, long seconds) {
  if (seconds < 0) {
    int sig = 0;
    sigwait(set, &sig);
    printf("xwsk-driver-host: signal %d: unloading\n", sig);
    fflush(stdout);
    return;
  }
  timespec ts{seconds, 0};
  int sig = sigtimedwait(set, nullptr, &ts);
  if (sig > 0) {
    printf("xwsk-driver-host: signal %d: unloading\n", sig);
    fflush(stdout);
  } else {
    printf("xwsk-driver-host: %ld s elapsed: unloading\n", seconds);
    fflush(stdout);
  }
}

void print_tag(ULONG tag, ULONG_PTR allocations, ULONG_PTR bytes, PVOID context) {
  CHAR text[5];
  UmwskFormatPoolTag(tag, text);
  fprintf(stderr, "xwsk-driver-host: leak: pool tag '%s': %lu allocation(s), %lu bytes\n", text,
          static_cast<unsigned long>(allocations), static_cast<unsigned long>(bytes));
  ++*static_cast<int*>(context);
}

// Reports what is still live. Returns true when nothing is.
bool report_leaks() {
  int leaks = 0;
  UmwskForEachPoolTag(print_tag, &leaks);
  UMWSK_COUNTERS c;
  UmwskQueryCounters(&c);
  if (c.PoolAllocations != 0 && leaks == 0) {
    fprintf(stderr, "xwsk-driver-host: leak: %ld pool allocation(s) without a tag listed\n",
            static_cast<long>(c.PoolAllocations));
    ++leaks;
  }
  struct Row {
    const char* what;
    LONG value;
  } rows[] = {{"IRPs", c.Irps},
              {"MDLs", c.Mdls},
              {"sockets", c.Sockets},
              {"retained indications", c.RetainedIndications},
              {"registrations", c.Registrations},
              {"captures", c.Captures},
              {"system threads", c.SystemThreads},
              {"work items", c.WorkItems}};
  for (const Row& r : rows) {
    if (r.value != 0) {
      fprintf(stderr, "xwsk-driver-host: leak: %ld %s\n", static_cast<long>(r.value), r.what);
      ++leaks;
    }
  }
  return leaks == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse(argc, argv, &o); rc != 0) return rc;

  // Block the stop signals before any driver thread exists, so they reach sigwait() only.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  void* module = dlopen(o.driver, RTLD_NOW | RTLD_LOCAL);
  if (module == nullptr) {
    fprintf(stderr, "xwsk-driver-host: cannot load %s: %s\n", o.driver, dlerror());
    return 2;
  }
  auto* entry = reinterpret_cast<PDRIVER_INITIALIZE>(dlsym(module, "DriverEntry"));
  if (entry == nullptr) {
    fprintf(stderr, "xwsk-driver-host: %s has no DriverEntry (declare it extern \"C\")\n",
            o.driver);
    dlclose(module);
    return 2;
  }

  // The registry path a service of this name gets.
  static WCHAR path[256];
  swprintf(path, sizeof path / sizeof path[0],
           L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s", o.name);
  UNICODE_STRING registry_path;
  RtlInitUnicodeString(&registry_path, path);

  // The driver object the I/O manager would make: \Driver\NAME, default dispatch routines.
  static WCHAR driver_name[160];
  swprintf(driver_name, sizeof driver_name / sizeof driver_name[0], L"\\Driver\\%s", o.name);
  PDRIVER_OBJECT driver = UmwskCreateDriverObject(driver_name);
  if (driver == nullptr) {
    fprintf(stderr, "xwsk-driver-host: out of memory for the driver object\n");
    dlclose(module);
    return 2;
  }
  driver->DriverInit = entry;

  printf("xwsk-driver-host: DriverEntry(%s)\n", o.name);
  fflush(stdout);
  NTSTATUS st = entry(driver, &registry_path);
  if (!NT_SUCCESS(st)) {
    fprintf(stderr, "xwsk-driver-host: DriverEntry failed: 0x%08x\n", static_cast<unsigned>(st));
    // A driver whose DriverEntry fails must have released everything itself.
    UmwskFreeDriverObject(driver);
    report_leaks();
    dlclose(module);
    return 1;
  }
  printf("xwsk-driver-host: running (SIGINT or SIGTERM unloads)\n");
  fflush(stdout);

  wait_for_stop(&stop, o.seconds);
  if (driver->DriverUnload == nullptr) {
    fprintf(stderr, "xwsk-driver-host: the driver set no DriverUnload: it cannot be unloaded\n");
    return 3;
  }
  driver->DriverUnload(driver);
  printf("xwsk-driver-host: DriverUnload returned\n");
  UmwskFreeDriverObject(driver);
  bool clean = report_leaks();
  // The module stays mapped: a thread the driver failed to stop may still run its code.
  printf("xwsk-driver-host: %s\n", clean ? "unloaded clean" : "unloaded with leaks");
  return clean ? 0 : 4;
}
