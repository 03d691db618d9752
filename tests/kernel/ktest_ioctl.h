// SPDX-License-Identifier: MIT
// ktest_ioctl.h: the protocol between the kernel test driver (xwsk_ktest.sys)
// and its user-mode loader (xwsk-ktest-loader.exe). Shared by both sides;
// plain C-layout structs, fixed-size fields, no pointers.
//
// Device: \Device\XwskTest, symbolic link \DosDevices\XwskTest
// (opened from user mode as \\.\XwskTest). All IOCTLs are METHOD_BUFFERED.
//
//   IOCTL_XWSK_TEST_COUNT  in: none                 out: XwskKtestCount
//   IOCTL_XWSK_TEST_RUN    in: XwskKtestRunInput    out: XwskKtestRunOutput
//   IOCTL_XWSK_TEST_SET_PROFILE in: XwskKtestProfile out: none
//       Tells the WSK backend which provider it runs on (xwsk::wsk::ProviderProfile): the
//       loader sends XWSK_KTEST_PROFILE_WINE8 when it runs under Wine, before any case.
//
// Requires CTL_CODE/METHOD_BUFFERED/FILE_ANY_ACCESS: from <winioctl.h> in
// user mode, from the DDK (wsk_ddk.h) in the driver.
#ifndef XWSK_TESTS_KERNEL_KTEST_IOCTL_H_
#define XWSK_TESTS_KERNEL_KTEST_IOCTL_H_

#define XWSK_KTEST_DEVICE_NAME L"\\Device\\XwskTest"
#define XWSK_KTEST_SYMLINK_NAME L"\\DosDevices\\XwskTest"
#define XWSK_KTEST_USER_PATH L"\\\\.\\XwskTest"

// Device types 0x8000-0xFFFF are for vendors; function codes >= 0x800 too.
#define XWSK_KTEST_DEVICE_TYPE 0x8A57
#define IOCTL_XWSK_TEST_COUNT \
  CTL_CODE(XWSK_KTEST_DEVICE_TYPE, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_XWSK_TEST_RUN \
  CTL_CODE(XWSK_KTEST_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define IOCTL_XWSK_TEST_SET_PROFILE \
  CTL_CODE(XWSK_KTEST_DEVICE_TYPE, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)

// Provider profiles (values of xwsk::wsk::ProviderProfile).
#define XWSK_KTEST_PROFILE_WINDOWS 0u
#define XWSK_KTEST_PROFILE_WINE8 1u

// Result codes of one case.
#define XWSK_KTEST_PASSED 0u
#define XWSK_KTEST_FAILED 1u
#define XWSK_KTEST_SKIPPED 2u

#define XWSK_KTEST_NAME_CHARS 128
#define XWSK_KTEST_MESSAGE_CHARS 896

struct XwskKtestCount {
  unsigned int count;
};

struct XwskKtestProfile {
  unsigned int profile;  // XWSK_KTEST_PROFILE_*
};

struct XwskKtestRunInput {
  unsigned int index;  // 0 .. count-1
};

struct XwskKtestRunOutput {
  unsigned int result;  // XWSK_KTEST_PASSED/FAILED/SKIPPED
  unsigned int reserved;
  char name[XWSK_KTEST_NAME_CHARS];        // NUL-terminated case name
  char message[XWSK_KTEST_MESSAGE_CHARS];  // NUL-terminated; failure message or skip reason
};

#endif  // XWSK_TESTS_KERNEL_KTEST_IOCTL_H_
