// What a VmConfig holds, field by field, each check with the words for what it takes. A config
// that does not come from the CLI's or the API's parser (a snapshot's manifest, a library caller's
// object, the builder's option objects) is checked here, so that a field of the wrong type or out
// of range stops with a sentence naming it, not as a TypeError in a device. A number is checked
// where the VM sizes something by it.
import { checkRamSize } from './arch/x86_64/memory-map';
import { MAX_DISK_POLL_US, MAX_VCPUS } from './config';

/** A test of one value, and what it takes, in the words of an error ("a string"). */
export interface Check {
  (v: unknown): boolean;
  readonly what: string;
}

const check = (what: string, test: (v: unknown) => boolean): Check => Object.assign(test, { what });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isString = check('a string', (v) => typeof v === 'string');
export const isBoolean = check('true or false', (v) => typeof v === 'boolean');
export const intIn = (min: number, max: number): Check =>
  check(
    `a whole number from ${min} to ${max}`,
    (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
  );
export const oneOf = (...values: string[]): Check =>
  check(values.map((v) => `'${v}'`).join(' or '), (v) => typeof v === 'string' && values.includes(v));
export const optional = (c: Check): Check => check(c.what, (v) => v === undefined || c(v));
const listOf = (c: Check): Check =>
  check(`a list, each ${c.what}`, (v) => Array.isArray(v) && v.every((e) => c(e)));
/** An object whose named fields pass their checks (other fields are ignored, as the VM ignores them). */
const shape = (fields: Record<string, Check>): Check =>
  check(
    `an object { ${Object.keys(fields).join(', ')} }`,
    (v) => isObject(v) && Object.entries(fields).every(([k, c]) => c(v[k])),
  );

const isRamSize = check('a RAM size in bytes (whole 4 KiB pages)', (v) => {
  try {
    checkRamSize(v as number);
    return true;
  } catch {
    return false;
  }
});

const isSerial = check(
  "{ mode: 'tty' }, { mode: 'capture' }, { mode: 'off' }, { mode: 'null' } or { mode: 'file', path, max? }",
  (v) =>
    isObject(v) &&
    (oneOf('tty', 'capture', 'off', 'null')(v.mode) ||
      (v.mode === 'file' && isString(v.path) && optional(intIn(0, Number.MAX_SAFE_INTEGER))(v.max))),
);

const PORT = intIn(0, 0xffff);
const U32 = intIn(0, 0xffffffff);

export const DISK_FIELDS: Record<string, Check> = {
  path: isString,
  readonly: optional(isBoolean),
  serial: optional(isString),
  discard: optional(oneOf('unmap', 'ignore')),
  pollUs: optional(intIn(0, MAX_DISK_POLL_US)),
};

export const NET_FIELDS: Record<string, Check> = {
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
};

export const SHARE_FIELDS: Record<string, Check> = {
  tag: isString,
  path: isString,
  readonly: optional(isBoolean),
  cache: optional(oneOf('never', 'auto', 'always')),
};

export const VSOCK_FIELDS: Record<string, Check> = {
  cid: intIn(3, 0xfffffffe),
  socket: optional(isString),
  agent: optional(isBoolean),
};

const FIELDS: Record<string, Check> = {
  kernel: isString,
  initrd: optional(isString),
  cmdline: isString,
  cpus: shape({ boot: intIn(1, MAX_VCPUS), nested: optional(isBoolean) }),
  memory: shape({ size: isRamSize }),
  serial: isSerial,
  noReboot: optional(isBoolean),
  hostQuirks: optional(oneOf('auto', 'off')),
  disks: optional(listOf(shape(DISK_FIELDS))),
  nets: optional(listOf(shape(NET_FIELDS))),
  console: optional(isSerial),
  rng: optional(isBoolean),
  vsock: optional(shape(VSOCK_FIELDS)),
  shares: optional(listOf(shape(SHARE_FIELDS))),
  seccomp: optional(oneOf('on', 'log', 'off')),
};

/** What is wrong with a field: its name (a dotted path) and what it takes, or that it is unknown. */
export interface FieldFault {
  field: string;
  what: string;
  unknown?: boolean;
}

/**
 * The first field of `value` that fails its check in `fields`; with `strict`, a field `fields`
 * does not name is one too (a misspelt option would otherwise be ignored).
 */
export function fieldFault(
  fields: Record<string, Check>,
  value: unknown,
  strict = false,
): FieldFault | undefined {
  if (!isObject(value)) return { field: '', what: `an object { ${Object.keys(fields).join(', ')} }` };
  if (strict) {
    const extra = Object.keys(value).find((k) => !(k in fields));
    if (extra !== undefined) return { field: extra, what: Object.keys(fields).join(', '), unknown: true };
  }
  const bad = Object.keys(fields).find((k) => !fields[k]!(value[k]));
  return bad === undefined ? undefined : { field: bad, what: fields[bad]!.what };
}

const ITEM_FIELDS: Record<string, Record<string, Check>> = {
  disks: DISK_FIELDS,
  nets: NET_FIELDS,
  shares: SHARE_FIELDS,
};

/**
 * The first field of `config` that is not what a VmConfig holds there (a list's item named with
 * its index: `disks[1].path`); undefined when none.
 */
export function configFault(config: unknown): FieldFault | undefined {
  const f = fieldFault(FIELDS, config);
  if (!f || !isObject(config)) return f;
  const fields = ITEM_FIELDS[f.field];
  const items = config[f.field];
  if (fields && Array.isArray(items)) {
    for (let i = 0; i < items.length; i++) {
      const g = fieldFault(fields, items[i]);
      if (g) return { field: `${f.field}[${i}]${g.field ? `.${g.field}` : ''}`, what: g.what };
    }
  }
  return f;
}
