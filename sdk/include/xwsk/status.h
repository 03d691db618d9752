// SPDX-License-Identifier: MIT
/// @file status.h
/// @brief The one status type of xwsk: NTSTATUS values, with names, on every backend.
///
/// Every xwsk call returns an xwsk::Status and every request completes with one. The values are
/// the Windows NTSTATUS codes, so the WSK backend passes provider statuses through untouched and
/// the user-space backends translate native errors (errno, EAI_*, libuv codes) in one shared table.
/// A value that is not in the table below is still a valid Status (a provider may return any
/// NTSTATUS); status_name() then returns "STATUS_<unknown>".
#ifndef XWSK_STATUS_H_
#define XWSK_STATUS_H_

#include <stdint.h>

namespace xwsk {

/// X-macro list of the statuses xwsk names: X(EnumeratorName, "NTSTATUS_NAME", value).
#define XWSK_STATUS_LIST(X)                                                    \
  X(Success, "STATUS_SUCCESS", 0x00000000)                                     \
  X(Pending, "STATUS_PENDING", 0x00000103)                                     \
  X(DeviceBusy, "STATUS_DEVICE_BUSY", 0x80000011)                              \
  X(BufferOverflow, "STATUS_BUFFER_OVERFLOW", 0x80000005)                      \
  X(Unsuccessful, "STATUS_UNSUCCESSFUL", 0xC0000001)                           \
  X(NotImplemented, "STATUS_NOT_IMPLEMENTED", 0xC0000002)                      \
  X(InvalidHandle, "STATUS_INVALID_HANDLE", 0xC0000008)                        \
  X(InvalidParameter, "STATUS_INVALID_PARAMETER", 0xC000000D)                  \
  X(InvalidDeviceRequest, "STATUS_INVALID_DEVICE_REQUEST", 0xC0000010)         \
  X(MoreProcessingRequired, "STATUS_MORE_PROCESSING_REQUIRED", 0xC0000016)     \
  X(NoMemory, "STATUS_NO_MEMORY", 0xC0000017)                                  \
  X(AccessDenied, "STATUS_ACCESS_DENIED", 0xC0000022)                          \
  X(BufferTooSmall, "STATUS_BUFFER_TOO_SMALL", 0xC0000023)                     \
  X(InsufficientResources, "STATUS_INSUFFICIENT_RESOURCES", 0xC000009A)        \
  X(DeviceNotReady, "STATUS_DEVICE_NOT_READY", 0xC00000A3)                     \
  X(IoTimeout, "STATUS_IO_TIMEOUT", 0xC00000B5)                                \
  X(NotSupported, "STATUS_NOT_SUPPORTED", 0xC00000BB)                          \
  X(Cancelled, "STATUS_CANCELLED", 0xC0000120)                                 \
  X(FileClosed, "STATUS_FILE_CLOSED", 0xC0000128)                              \
  X(InvalidAddress, "STATUS_INVALID_ADDRESS", 0xC0000141)                      \
  X(InvalidDeviceState, "STATUS_INVALID_DEVICE_STATE", 0xC0000184)             \
  X(InvalidBufferSize, "STATUS_INVALID_BUFFER_SIZE", 0xC0000206)               \
  X(InvalidAddressComponent, "STATUS_INVALID_ADDRESS_COMPONENT", 0xC0000207)   \
  X(TooManyAddresses, "STATUS_TOO_MANY_ADDRESSES", 0xC0000209)                 \
  X(AddressAlreadyExists, "STATUS_ADDRESS_ALREADY_EXISTS", 0xC000020A)         \
  X(ConnectionDisconnected, "STATUS_CONNECTION_DISCONNECTED", 0xC000020C)      \
  X(ConnectionReset, "STATUS_CONNECTION_RESET", 0xC000020D)                    \
  X(DataNotAccepted, "STATUS_DATA_NOT_ACCEPTED", 0xC000021B)                   \
  X(NotFound, "STATUS_NOT_FOUND", 0xC0000225)                                  \
  X(ConnectionRefused, "STATUS_CONNECTION_REFUSED", 0xC0000236)                \
  X(GracefulDisconnect, "STATUS_GRACEFUL_DISCONNECT", 0xC0000237)              \
  X(AddressAlreadyAssociated, "STATUS_ADDRESS_ALREADY_ASSOCIATED", 0xC0000238) \
  X(AddressNotAssociated, "STATUS_ADDRESS_NOT_ASSOCIATED", 0xC0000239)         \
  X(ConnectionInvalid, "STATUS_CONNECTION_INVALID", 0xC000023A)                \
  X(ConnectionActive, "STATUS_CONNECTION_ACTIVE", 0xC000023B)                  \
  X(NetworkUnreachable, "STATUS_NETWORK_UNREACHABLE", 0xC000023C)              \
  X(HostUnreachable, "STATUS_HOST_UNREACHABLE", 0xC000023D)                    \
  X(ProtocolUnreachable, "STATUS_PROTOCOL_UNREACHABLE", 0xC000023E)            \
  X(PortUnreachable, "STATUS_PORT_UNREACHABLE", 0xC000023F)                    \
  X(RequestAborted, "STATUS_REQUEST_ABORTED", 0xC0000240)                      \
  X(ConnectionAborted, "STATUS_CONNECTION_ABORTED", 0xC0000241)                \
  X(RequestNotAccepted, "STATUS_REQUEST_NOT_ACCEPTED", 0xC00000D0)             \
  X(HostDown, "STATUS_HOST_DOWN", 0xC0000350)

/// An NTSTATUS value. Any 32-bit value is valid; the named ones are listed in XWSK_STATUS_LIST.
enum class Status : int32_t {
#define XWSK_STATUS_ENUM_(name, text, value) name = static_cast<int32_t>(value##u),
  XWSK_STATUS_LIST(XWSK_STATUS_ENUM_)
#undef XWSK_STATUS_ENUM_
};

/// NT_SUCCESS(): true for success and informational statuses (including Pending).
constexpr bool nt_success(Status s) {
  return static_cast<int32_t>(s) >= 0;
}

/// The raw 32-bit NTSTATUS value, for printing.
constexpr uint32_t status_value(Status s) {
  return static_cast<uint32_t>(static_cast<int32_t>(s));
}

/// The NTSTATUS name of @p s ("STATUS_CONNECTION_REFUSED"), or "STATUS_<unknown>".
/// Never returns null; safe at any IRQL (reads a constant table).
const char* status_name(Status s);

}  // namespace xwsk

#endif  // XWSK_STATUS_H_
