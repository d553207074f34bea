// The VmConfig a manifest carries, checked field by field before a restore builds a VM from it: a
// restore takes it as the CLI's or the API's parser would have made it, so a field of the wrong
// type or out of range must stop here (as a SnapshotError) and not as a TypeError in a device.
// Each optional field is checked when present; a number is checked where the VM sizes something by it.
import { checkRamSize } from '../arch/x86_64/memory-map';
import { MAX_DISK_POLL_US, MAX_VCPUS } from '../config';

type Check = (v: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isBoolean: Check = (v) => typeof v === 'boolean';
const intIn =
  (min: number, max: number): Check =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const listOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);
/** An object whose named fields pass their checks (other fields are ignored, as the VM ignores them). */
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isObject(v) && Object.entries(fields).every(([k, check]) => check(v[k]));

const isRamSize: Check = (v) => {
  try {
    checkRamSize(v as number);
    return true;
  } catch {
    return false;
  }
};

const isSerial: Check = (v) =>
  isObject(v) &&
  (oneOf('tty', 'capture', 'off')(v.mode) ||
    (v.mode === 'file' && isString(v.path) && optional(intIn(0, Number.MAX_SAFE_INTEGER))(v.max)));

const PORT = intIn(0, 0xffff);
const U32 = intIn(0, 0xffffffff);

const FIELDS: Record<string, Check> = {
  kernel: isString,
  initrd: optional(isString),
  cmdline: isString,
  cpus: shape({ boot: intIn(1, MAX_VCPUS), nested: optional(isBoolean) }),
  memory: shape({ size: isRamSize }),
  serial: isSerial,
  noReboot: optional(isBoolean),
  hostQuirks: optional(oneOf('auto', 'off')),
  disks: optional(
    listOf(
      shape({
        path: isString,
        readonly: optional(isBoolean),
        serial: optional(isString),
        discard: optional(oneOf('unmap', 'ignore')),
        pollUs: optional(intIn(0, MAX_DISK_POLL_US)),
      }),
    ),
  ),
  nets: optional(
    listOf(
      shape({
        mac: optional(isString),
        tap: optional(isString),
        hostForwards: optional(
          listOf(
            shape({
              protocol: oneOf('tcp', 'udp'),
              hostAddress: isString,
              hostPort: PORT,
              guestAddress: U32,
              guestPort: PORT,
            }),
          ),
        ),
        hostLoopback: optional(isBoolean),
        dns: optional(shape({ address: isString, port: PORT })),
        mtu: optional(intIn(576, 65520)),
        deny: optional(
          shape({
            host: isBoolean,
            linkLocal: isBoolean,
            networks: listOf(shape({ network: U32, prefixLength: intIn(0, 32) })),
          }),
        ),
      }),
    ),
  ),
  console: optional(isSerial),
  rng: optional(isBoolean),
  vsock: optional(
    shape({ cid: intIn(3, 0xfffffffe), socket: optional(isString), agent: optional(isBoolean) }),
  ),
  shares: optional(
    listOf(
      shape({
        tag: isString,
        path: isString,
        readonly: optional(isBoolean),
        cache: optional(oneOf('never', 'auto', 'always')),
      }),
    ),
  ),
  seccomp: optional(oneOf('on', 'log', 'off')),
};

/** The first field of `config` that is not what a VmConfig holds there; undefined when none. */
export function configFault(config: unknown): string | undefined {
  if (!isObject(config)) return 'config';
  return Object.keys(FIELDS).find((k) => !FIELDS[k]!(config[k]));
}
