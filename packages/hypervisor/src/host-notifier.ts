// An EventNotifier between the host's own threads (a device thread's wake-up, the kick poller's),
// of the kind this host has: an eventfd on Linux. Code above @vmm/hypervisor asks here instead of
// naming a backend's class.
import { EventfdNotifier } from './kvm/event-notifier';
import type { EventNotifier } from './types';

export function createHostNotifier(): EventNotifier {
  return EventfdNotifier.create();
}
