/* SPDX-License-Identifier: MIT */
/* ip2string.h (umwsk): the Rtl routines that convert IPv4 and IPv6 addresses to and from text, as
 * documented for the WDK. Addresses and ports are in network byte order. IPv6 text is written in
 * the RFC 5952 form (lower-case hex, the longest run of two or more zero groups as "::",
 * IPv4-mapped addresses as ::ffff:a.b.c.d). The W forms take and produce WCHAR (32-bit here). */
#ifndef UMWSK_IP2STRING_H_
#define UMWSK_IP2STRING_H_
#pragma GCC system_header

#include "in6addr.h"
#include "ntdef.h"
#include "ws2def.h"

EXTERN_C_START

#define INET_ADDRSTRLEN 22
#define INET6_ADDRSTRLEN 65

/* Writes the address (at least 16 characters of room) and returns a pointer to its NUL. */
NTSYSAPI PSTR RtlIpv4AddressToStringA(const IN_ADDR* Addr, PSTR S);
NTSYSAPI PWSTR RtlIpv4AddressToStringW(const IN_ADDR* Addr, PWSTR S);
/* "a.b.c.d" or "a.b.c.d:port" (Port non-zero). *AddressStringLength: in, the buffer's size in
 * characters; out, the characters written with the NUL (or needed: STATUS_INVALID_PARAMETER). */
NTSYSAPI NTSTATUS RtlIpv4AddressToStringExA(const IN_ADDR* Address, USHORT Port, PSTR AddressString,
                                            PULONG AddressStringLength);
NTSYSAPI NTSTATUS RtlIpv4AddressToStringExW(const IN_ADDR* Address, USHORT Port,
                                            PWSTR AddressString, PULONG AddressStringLength);
/* Writes the address (at least 46 characters of room) and returns a pointer to its NUL. */
NTSYSAPI PSTR RtlIpv6AddressToStringA(const IN6_ADDR* Addr, PSTR S);
NTSYSAPI PWSTR RtlIpv6AddressToStringW(const IN6_ADDR* Addr, PWSTR S);
/* "addr", "addr%scope", or "[addr%scope]:port" (Port non-zero). Lengths as above. */
NTSYSAPI NTSTATUS RtlIpv6AddressToStringExA(const IN6_ADDR* Address, ULONG ScopeId, USHORT Port,
                                            PSTR AddressString, PULONG AddressStringLength);
NTSYSAPI NTSTATUS RtlIpv6AddressToStringExW(const IN6_ADDR* Address, ULONG ScopeId, USHORT Port,
                                            PWSTR AddressString, PULONG AddressStringLength);
/* Parses an IPv4 address; Strict requires four decimal parts, otherwise the inet_aton forms
 * (octal, hex, fewer parts) are accepted. *Terminator points after the parsed text.
 * STATUS_INVALID_PARAMETER when there is no address. */
NTSYSAPI NTSTATUS RtlIpv4StringToAddressA(PCSTR S, BOOLEAN Strict, PCSTR* Terminator,
                                          IN_ADDR* Addr);
NTSYSAPI NTSTATUS RtlIpv4StringToAddressW(PCWSTR S, BOOLEAN Strict, PCWSTR* Terminator,
                                          IN_ADDR* Addr);
/* The whole string: "a.b.c.d" or "a.b.c.d:port" (*Port = 0 without one). */
NTSYSAPI NTSTATUS RtlIpv4StringToAddressExA(PCSTR AddressString, BOOLEAN Strict, IN_ADDR* Address,
                                            PUSHORT Port);
NTSYSAPI NTSTATUS RtlIpv4StringToAddressExW(PCWSTR AddressString, BOOLEAN Strict, IN_ADDR* Address,
                                            PUSHORT Port);
NTSYSAPI NTSTATUS RtlIpv6StringToAddressA(PCSTR S, PCSTR* Terminator, IN6_ADDR* Addr);
NTSYSAPI NTSTATUS RtlIpv6StringToAddressW(PCWSTR S, PCWSTR* Terminator, IN6_ADDR* Addr);
/* The whole string: "addr", "addr%scope", "[addr]:port", "[addr%scope]:port". */
NTSYSAPI NTSTATUS RtlIpv6StringToAddressExA(PCSTR AddressString, IN6_ADDR* Address, PULONG ScopeId,
                                            PUSHORT Port);
NTSYSAPI NTSTATUS RtlIpv6StringToAddressExW(PCWSTR AddressString, IN6_ADDR* Address, PULONG ScopeId,
                                            PUSHORT Port);

EXTERN_C_END

#endif /* UMWSK_IP2STRING_H_ */
