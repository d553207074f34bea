// Reading a parsed JSON body field by field: every value is checked for its type and range, and a
// field the reader was not told about is refused (400) by its path, never ignored, as serde's
// deny_unknown_fields would. Messages name the endpoint and the field ("vm.create: cpus.boot_vcpus
// is 0: give a whole number from 1 to 254").
import { ApiError } from './errors';

/** A JSON object of a request body, at `path` ('' for the body itself). */
export class JsonObject {
  private constructor(
    private readonly value: Record<string, unknown>,
    readonly path: string,
    readonly where: string,
  ) {}

  /** The body (or a field's value) as an object; 400 when it is anything else. */
  static of(value: unknown, where: string, path = ''): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalid(where, `${path ? `${path} is` : 'the body is'} ${describe(value)}: give a JSON object`);
    }
    return new JsonObject(value as Record<string, unknown>, path, where);
  }

  /** Refuse any field not in `known` (400 EAPIFIELD naming it and what is taken). */
  only(known: readonly string[]): this {
    for (const key of Object.keys(this.value)) {
      if (!known.includes(key)) {
        throw new ApiError(
          400,
          'EAPIFIELD',
          `${this.where}: field '${this.at(key)}' is not supported (${this.path || 'the body'} takes ${known.join(', ')}): remove it`,
        );
      }
    }
    return this;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.value, key);
  }

  string(key: string, options: { required: true; nonEmpty?: boolean }): string;
  string(key: string, options?: { required?: boolean; nonEmpty?: boolean }): string | undefined;
  string(key: string, options: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const v = this.get(key, options.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(this.where, `${this.at(key)} is ${describe(v)}: give a string`);
    if (options.nonEmpty && v === '') throw invalid(this.where, `${this.at(key)} is empty`);
    return v;
  }

  integer(key: string, range: { min: number; max: number; required: true }): number;
  integer(key: string, range: { min: number; max: number; required?: boolean }): number | undefined;
  integer(key: string, range: { min: number; max: number; required?: boolean }): number | undefined {
    const v = this.get(key, range.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < range.min || v > range.max) {
      throw invalid(
        this.where,
        `${this.at(key)} is ${describe(v)}: give a whole number from ${range.min} to ${range.max}`,
      );
    }
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key, false);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean')
      throw invalid(this.where, `${this.at(key)} is ${describe(v)}: give true or false`);
    return v;
  }

  object(key: string, required?: boolean): JsonObject | undefined {
    const v = this.get(key, required);
    return v === undefined ? undefined : JsonObject.of(v, this.where, this.at(key));
  }

  /** An array of objects (at most `max` of them). */
  objects(key: string, max: number): JsonObject[] {
    const v = this.get(key, false);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalid(this.where, `${this.at(key)} is ${describe(v)}: give an array`);
    if (v.length > max) throw invalid(this.where, `${this.at(key)} has ${v.length} items: at most ${max}`);
    return v.map((item, i) => JsonObject.of(item, this.where, `${this.at(key)}[${i}]`));
  }

  /** A field's path for messages ("disks[0].path"). */
  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** A 400 about `key` (a value of the right type that cannot be taken). */
  refuse(key: string, why: string): ApiError {
    return invalid(this.where, `${this.at(key)} ${why}`);
  }

  /** `null` counts as absent, as serde reads an Option. */
  private get(key: string, required?: boolean): unknown {
    const v = this.has(key) ? this.value[key] : undefined;
    if (v === undefined || v === null) {
      if (required) throw invalid(this.where, `${this.at(key)} is required`);
      return undefined;
    }
    return v;
  }
}

function invalid(where: string, message: string): ApiError {
  return new ApiError(400, 'EAPIVALUE', `${where}: ${message}`);
}

/** A value in a message: its type, and the value itself when short. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length <= 40 ? `${typeof v} ${text}` : `a ${typeof v}`;
}
