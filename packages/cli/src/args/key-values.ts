import { UsageError } from './errors';

/**
 * Cloud Hypervisor's option syntax: "key=value,key=value". Unknown keys, repeated keys and
 * missing values are errors naming the flag. A bare word is accepted only where `bare` names
 * the key it stands for (e.g. `--serial off` means mode=off).
 */
export function parseKeyValues(
  flag: string,
  text: string,
  allowed: readonly string[],
  bare?: { key: string; values: readonly string[] },
): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') throw new UsageError(`${flag}: empty item in '${text}'`);
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    if (eq < 0) {
      if (!bare || !bare.values.includes(part)) {
        const words = bare ? `${bare.values.join(', ')} or ` : '';
        throw new UsageError(
          `${flag}: '${part}' needs a value (${words}key=value; keys: ${allowed.join(', ')})`,
        );
      }
      key = bare.key;
      value = part;
    } else {
      key = part.slice(0, eq);
      value = part.slice(eq + 1);
    }
    if (!allowed.includes(key))
      throw new UsageError(`${flag}: unknown key '${key}' (keys: ${allowed.join(', ')})`);
    if (out.has(key)) throw new UsageError(`${flag}: '${key}' given twice`);
    if (value === '') throw new UsageError(`${flag}: '${key}' needs a value`);
    out.set(key, value);
  }
  return out;
}

/** An on/off option of `kv`: true, false, or undefined when not given; anything else is an error. */
export function onOff(flag: string, kv: ReadonlyMap<string, string>, key: string): boolean | undefined {
  const value = kv.get(key);
  return value === undefined ? undefined : onOffValue(flag, key, value);
}

/** `key=value` of `flag`, where value must be on or off. */
export function onOffValue(flag: string, key: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new UsageError(`${flag}: ${key}=${value} is not on or off`);
  return value === 'on';
}
