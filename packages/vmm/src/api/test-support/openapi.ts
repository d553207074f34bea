// docs/openapi.yaml as the tests' oracle: the document loaded with `yaml`, and a small validator
// of the JSON Schema subset it uses. A keyword the validator does not know is an error, so the
// document cannot say something the tests silently skip.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const SPEC_PATH = path.resolve(import.meta.dirname, '../../../../../docs/openapi.yaml');

type Schema = Record<string, unknown>;
interface Operation {
  responses: Record<string, Schema>;
  requestBody?: Schema;
}

export const spec = parse(fs.readFileSync(SPEC_PATH, 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, Schema> };
};

const IGNORED = new Set(['description', 'default', 'format', 'title', 'example']);
const KNOWN = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxItems',
  '$ref',
  ...IGNORED,
]);

function deref<T extends Schema>(s: T): T {
  const ref = s.$ref;
  if (typeof ref !== 'string') return s;
  const m = /^#\/components\/(schemas|responses)\/(.+)$/.exec(ref);
  const target = m ? spec.components[m[1] as 'schemas' | 'responses'][m[2]!] : undefined;
  if (!target) throw new Error(`openapi: unresolved $ref ${ref}`);
  return deref(target as T);
}

/** What is wrong with `value` against `schema` (empty: it matches). */
export function validate(schemaIn: Schema, value: unknown, at = '$'): string[] {
  const schema = deref(schemaIn);
  for (const k of Object.keys(schema))
    if (!KNOWN.has(k)) throw new Error(`openapi: keyword '${k}' at ${at} is not checked`);
  const errors: string[] = [];
  const type = schema.type as string | undefined;
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'object' && !isObject) return [`${at}: not an object`];
  if (type === 'array' && !Array.isArray(value)) return [`${at}: not an array`];
  if (type === 'string' && typeof value !== 'string') return [`${at}: not a string`];
  if (type === 'boolean' && typeof value !== 'boolean') return [`${at}: not a boolean`];
  if (type === 'integer' && !Number.isSafeInteger(value)) return [`${at}: not an integer`];
  if (type === 'number' && typeof value !== 'number') return [`${at}: not a number`];
  if (schema.enum && !(schema.enum as unknown[]).includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof schema.minimum === 'number' && (value as number) < schema.minimum)
    errors.push(`${at}: below minimum`);
  if (typeof schema.maximum === 'number' && (value as number) > schema.maximum)
    errors.push(`${at}: above maximum`);
  if (typeof schema.minLength === 'number' && (value as string).length < schema.minLength)
    errors.push(`${at}: too short`);
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      errors.push(`${at}: too many items`);
    if (schema.items)
      value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${at}[${i}]`)));
  }
  if (isObject) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validate(props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}.${k}: not allowed`);
      else if (typeof schema.additionalProperties === 'object')
        errors.push(...validate(schema.additionalProperties as Schema, v, `${at}.${k}`));
    }
  }
  return errors;
}

export function schema(name: string): Schema {
  const s = spec.components.schemas[name];
  if (!s) throw new Error(`openapi: no schema ${name}`);
  return s;
}

/** The operation docs/openapi.yaml declares for `endpoint` (one per path), and its method. */
export function operationOf(endpoint: string): { method: string; op: Operation } | undefined {
  const p = spec.paths[`/${endpoint}`];
  if (!p) return undefined;
  const [method, op] = Object.entries(p)[0]!;
  return { method: method.toUpperCase(), op };
}

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * What is wrong with an answer to `endpoint`, against the document: its status must be declared
 * for the endpoint's operation, its body match the declared schema (none where none is declared).
 * For a path the document does not have, and for the answers every request can get (408, 413,
 * 431), the body must be an ErrorResponse.
 */
export function checkAnswer(endpoint: string, a: Answer): string[] {
  const found = operationOf(endpoint);
  if (!found || [408, 413, 431].includes(a.status)) {
    if (a.headers['content-type'] !== 'application/json')
      return [`${a.status}: content-type ${a.headers['content-type']}`];
    return validate(schema('ErrorResponse'), JSON.parse(a.body));
  }
  const declared = found.op.responses[String(a.status)];
  if (!declared) return [`${endpoint}: ${a.status} is not declared in docs/openapi.yaml`];
  const response = deref(declared);
  const content = response.content as Record<string, { schema: Schema }> | undefined;
  if (!content) return a.body === '' ? [] : [`${endpoint} ${a.status}: a body where none is declared`];
  if (a.headers['content-type'] !== 'application/json')
    return [`${endpoint} ${a.status}: content-type ${a.headers['content-type']}`];
  let json: unknown;
  try {
    json = JSON.parse(a.body);
  } catch {
    return [`${endpoint} ${a.status}: body is not JSON: ${a.body.slice(0, 100)}`];
  }
  const errors = validate(content['application/json']!.schema, json);
  if (a.status === 405 && typeof a.headers.allow !== 'string') errors.push('405 without an Allow header');
  return errors;
}

/** The request body schema of `endpoint`'s operation. */
export function requestSchema(endpoint: string): Schema {
  const body = operationOf(endpoint)?.op.requestBody;
  if (!body) throw new Error(`openapi: ${endpoint} takes no body`);
  return (body.content as Record<string, { schema: Schema }>)['application/json']!.schema;
}
