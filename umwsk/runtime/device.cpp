// SPDX-License-Identifier: MIT
// device.cpp: driver and device objects, and an in-memory object namespace for device names and
// symbolic links (IoCreateDevice, IoCreateSymbolicLink, UmwskReferenceDeviceByName).
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "rt_internal.h"

namespace {

struct Name {
  Name* next;
  WCHAR* name;            // canonical form, NUL-terminated
  WCHAR* target;          // symbolic link: the device name it points to (canonical); device: null
  PDEVICE_OBJECT device;  // device name: the device
};

pthread_mutex_t g_names_lock = PTHREAD_MUTEX_INITIALIZER;
Name* g_names = nullptr;

// Canonical name: "\DosDevices\x", "\DosDevices\Global\x", "\GLOBAL??\x" -> "\??\x".
WCHAR* canonical(const WCHAR* s, size_t len) {
  static const WCHAR* const prefixes[] = {L"\\DosDevices\\Global\\", L"\\DosDevices\\",
                                          L"\\GLOBAL??\\", L"\\??\\Global\\"};
  for (const WCHAR* p : prefixes) {
    const size_t n = wcslen(p);
    if (len >= n && wcsncasecmp(s, p, n) == 0) {
      auto* out = static_cast<WCHAR*>(malloc((len - n + 5) * sizeof(WCHAR)));
      if (out == nullptr) {
        return nullptr;
      }
      wcscpy(out, L"\\??\\");
      wmemcpy(out + 4, s + n, len - n);
      out[4 + len - n] = 0;
      return out;
    }
  }
  auto* out = static_cast<WCHAR*>(malloc((len + 1) * sizeof(WCHAR)));
  if (out == nullptr) {
    return nullptr;
  }
  wmemcpy(out, s, len);
  out[len] = 0;
  return out;
}

WCHAR* canonical_us(PCUNICODE_STRING s) {
  return canonical(s->Buffer, s->Length / sizeof(WCHAR));
}

// g_names_lock held.
Name** find(const WCHAR* canon) {
  for (Name** n = &g_names; *n != nullptr; n = &(*n)->next) {
    if (wcscasecmp((*n)->name, canon) == 0) {
      return n;
    }
  }
  return nullptr;
}

void free_name(Name* n) {
  free(n->name);
  free(n->target);
  free(n);
}

void device_destroy(void* body) {
  (void)body;
}

NTSTATUS default_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_INVALID_DEVICE_REQUEST;
}

void driver_destroy(void* body) {
  auto* d = static_cast<PDRIVER_OBJECT>(body);
  free(d->DriverName.Buffer);
  if (d->DriverExtension != nullptr) {
    free(d->DriverExtension->ServiceKeyName.Buffer);
  }
}

bool copy_unicode(UNICODE_STRING* out, const WCHAR* s, size_t chars) {
  auto* buf = static_cast<WCHAR*>(malloc((chars + 1) * sizeof(WCHAR)));
  if (buf == nullptr) {
    return false;
  }
  wmemcpy(buf, s, chars);
  buf[chars] = 0;
  out->Buffer = buf;
  out->Length = static_cast<USHORT>(chars * sizeof(WCHAR));
  out->MaximumLength = static_cast<USHORT>((chars + 1) * sizeof(WCHAR));
  return true;
}

}  // namespace

NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                        PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                        ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                        PDEVICE_OBJECT* DeviceObject) {
  if (umwsk_irql() != PASSIVE_LEVEL) {
    umwsk_rule_violation("irql.create_device_above_passive", DriverObject,
                         "IoCreateDevice at IRQL %u (must be PASSIVE_LEVEL)",
                         static_cast<unsigned>(umwsk_irql()));
  }
  if (DriverObject == nullptr || DeviceObject == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  *DeviceObject = nullptr;
  const size_t ext = (static_cast<size_t>(DeviceExtensionSize) + 15) & ~static_cast<size_t>(15);
  auto* dev = static_cast<PDEVICE_OBJECT>(
      umwsk_object_create(&umwsk_device_type, sizeof(DEVICE_OBJECT) + ext, device_destroy));
  if (dev == nullptr) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  Name* entry = nullptr;
  if (DeviceName != nullptr && DeviceName->Length != 0) {
    entry = static_cast<Name*>(calloc(1, sizeof(Name)));
    WCHAR* canon = entry != nullptr ? canonical_us(DeviceName) : nullptr;
    if (canon == nullptr) {
      free(entry);
      ObDereferenceObject(dev);
      return STATUS_INSUFFICIENT_RESOURCES;
    }
    entry->name = canon;
    entry->device = dev;
    pthread_mutex_lock(&g_names_lock);
    if (find(canon) != nullptr) {
      pthread_mutex_unlock(&g_names_lock);
      free_name(entry);
      ObDereferenceObject(dev);
      return STATUS_OBJECT_NAME_COLLISION;
    }
    entry->next = g_names;
    g_names = entry;
    pthread_mutex_unlock(&g_names_lock);
  }
  dev->Type = IO_TYPE_DEVICE;
  dev->Size = static_cast<USHORT>(sizeof(DEVICE_OBJECT) + DeviceExtensionSize);
  dev->DriverObject = DriverObject;
  dev->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0);
  dev->Characteristics = DeviceCharacteristics;
  dev->DeviceType = DeviceType;
  dev->StackSize = 1;
  dev->AlignmentRequirement = 0;
  dev->DeviceExtension = DeviceExtensionSize != 0 ? reinterpret_cast<char*>(dev + 1) : nullptr;
  KeInitializeEvent(&dev->DeviceLock, SynchronizationEvent, TRUE);
  InitializeListHead(&dev->Queue.ListEntry);
  InitializeListHead(&dev->DeviceQueue.DeviceListHead);
  dev->NextDevice = DriverObject->DeviceObject;
  DriverObject->DeviceObject = dev;
  *DeviceObject = dev;
  return STATUS_SUCCESS;
}

void IoDeleteDevice(PDEVICE_OBJECT DeviceObject) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), DeviceObject, "IoDeleteDevice");
  if (umwsk_object_type(DeviceObject) != &umwsk_device_type) {
    umwsk_rule_violation("device.delete_not_device", DeviceObject,
                         "IoDeleteDevice on something that is not a device object");
    return;
  }
  PDRIVER_OBJECT driver = DeviceObject->DriverObject;
  if (driver != nullptr) {
    for (PDEVICE_OBJECT* link = &driver->DeviceObject; *link != nullptr;
         link = &(*link)->NextDevice) {
      if (*link == DeviceObject) {
        *link = DeviceObject->NextDevice;
        break;
      }
    }
  }
  pthread_mutex_lock(&g_names_lock);
  for (Name** n = &g_names; *n != nullptr;) {
    if ((*n)->device == DeviceObject) {
      Name* dead = *n;
      *n = dead->next;
      free_name(dead);
    } else {
      n = &(*n)->next;
    }
  }
  pthread_mutex_unlock(&g_names_lock);
  DeviceObject->DriverObject = nullptr;
  ObDereferenceObject(DeviceObject);
}

NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), SymbolicLinkName,
                       "IoCreateSymbolicLink");
  if (SymbolicLinkName == nullptr || DeviceName == nullptr || SymbolicLinkName->Length == 0) {
    return STATUS_INVALID_PARAMETER;
  }
  auto* entry = static_cast<Name*>(calloc(1, sizeof(Name)));
  if (entry == nullptr) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  entry->name = canonical_us(SymbolicLinkName);
  entry->target = canonical_us(DeviceName);
  if (entry->name == nullptr || entry->target == nullptr) {
    free_name(entry);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  pthread_mutex_lock(&g_names_lock);
  if (find(entry->name) != nullptr) {
    pthread_mutex_unlock(&g_names_lock);
    free_name(entry);
    return STATUS_OBJECT_NAME_COLLISION;
  }
  entry->next = g_names;
  g_names = entry;
  pthread_mutex_unlock(&g_names_lock);
  return STATUS_SUCCESS;
}

NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName) {
  umwsk_check_irql_max(PASSIVE_LEVEL, __builtin_return_address(0), SymbolicLinkName,
                       "IoDeleteSymbolicLink");
  if (SymbolicLinkName == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  WCHAR* canon = canonical_us(SymbolicLinkName);
  if (canon == nullptr) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  pthread_mutex_lock(&g_names_lock);
  Name** n = find(canon);
  NTSTATUS status = STATUS_OBJECT_NAME_NOT_FOUND;
  if (n != nullptr && (*n)->target != nullptr) {
    Name* dead = *n;
    *n = dead->next;
    free_name(dead);
    status = STATUS_SUCCESS;
  }
  pthread_mutex_unlock(&g_names_lock);
  free(canon);
  return status;
}

PDEVICE_OBJECT UmwskReferenceDeviceByName(PCWSTR Name_) {
  if (Name_ == nullptr) {
    return nullptr;
  }
  WCHAR* canon = canonical(Name_, wcslen(Name_));
  if (canon == nullptr) {
    return nullptr;
  }
  PDEVICE_OBJECT device = nullptr;
  pthread_mutex_lock(&g_names_lock);
  Name** n = find(canon);
  for (int hops = 0; n != nullptr && hops < 8; ++hops) {
    if ((*n)->target == nullptr) {
      device = (*n)->device;
      break;
    }
    n = find((*n)->target);
  }
  if (device != nullptr) {
    ObReferenceObject(device);
  }
  pthread_mutex_unlock(&g_names_lock);
  free(canon);
  return device;
}

PDRIVER_OBJECT UmwskCreateDriverObject(PCWSTR Name_) {
  auto* d = static_cast<PDRIVER_OBJECT>(umwsk_object_create(
      &umwsk_driver_type, sizeof(DRIVER_OBJECT) + sizeof(DRIVER_EXTENSION), driver_destroy));
  if (d == nullptr) {
    return nullptr;
  }
  d->Type = IO_TYPE_DRIVER;
  d->Size = static_cast<CSHORT>(sizeof(DRIVER_OBJECT));
  d->Flags = DRVO_LEGACY_DRIVER;
  d->DriverExtension = reinterpret_cast<PDRIVER_EXTENSION>(d + 1);
  d->DriverExtension->DriverObject = d;
  if (Name_ != nullptr) {
    const size_t len = wcslen(Name_);
    if (!copy_unicode(&d->DriverName, Name_, len)) {
      ObDereferenceObject(d);
      return nullptr;
    }
    const WCHAR* last = wcsrchr(Name_, L'\\');
    last = last != nullptr ? last + 1 : Name_;
    if (!copy_unicode(&d->DriverExtension->ServiceKeyName, last, wcslen(last))) {
      ObDereferenceObject(d);
      return nullptr;
    }
  }
  for (auto& f : d->MajorFunction) {
    f = default_dispatch;
  }
  return d;
}

void UmwskFreeDriverObject(PDRIVER_OBJECT DriverObject) {
  if (umwsk_object_type(DriverObject) != &umwsk_driver_type) {
    umwsk_rule_violation("driver.free_not_driver", DriverObject,
                         "UmwskFreeDriverObject on something UmwskCreateDriverObject did not "
                         "return");
    return;
  }
  if (DriverObject->DeviceObject != nullptr) {
    umwsk_rule_violation("driver.unload_with_devices", DriverObject,
                         "the driver object still has device objects after unload (IoDeleteDevice "
                         "each one in DriverUnload)");
  }
  ObDereferenceObject(DriverObject);
}
