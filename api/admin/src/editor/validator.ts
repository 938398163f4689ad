// rjsf needs a validator; Ajv, the usual one, compiles schemas with
// `new Function`, which the admin's CSP forbids (no 'unsafe-eval'). The API
// validates props against the module's schema on every save and its 422 is
// shown at the field, so the form needs only what rjsf uses a validator for
// besides that: telling which branch of a `oneOf`/`anyOf` a value is. This
// structural match (types, required keys, consts and enums, no extra keys
// where none are allowed) does that without generating code.
import type { RJSFSchema, ValidatorType } from '@rjsf/utils';

type Schema = RJSFSchema | boolean;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: RJSFSchema['type'], value: unknown): boolean {
  if (expected === undefined) return true;
  const actual = typeOf(value);
  const wanted = Array.isArray(expected) ? expected : [expected];
  return wanted.some((type) => type === actual || (type === 'number' && actual === 'integer'));
}

/** Whether `value` fits `schema` structurally. */
export function fits(schema: Schema, value: unknown): boolean {
  if (typeof schema === 'boolean') return schema;
  if (value === undefined) return true;
  if (!typeMatches(schema.type, value)) return false;
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) return false;
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) return false;
  if (schema.oneOf && !schema.oneOf.some((branch) => fits(branch as Schema, value))) return false;
  if (schema.anyOf && !schema.anyOf.some((branch) => fits(branch as Schema, value))) return false;
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    if (schema.required?.some((key) => object[key] === undefined)) return false;
    const properties = schema.properties ?? {};
    for (const [key, item] of Object.entries(object)) {
      const property = properties[key];
      if (property !== undefined) {
        if (!fits(property as Schema, item)) return false;
      } else if (schema.additionalProperties === false) {
        return false;
      }
    }
  }
  if (Array.isArray(value) && schema.items && !Array.isArray(schema.items)) {
    return value.every((item) => fits(schema.items as Schema, item));
  }
  return true;
}

export const structuralValidator: ValidatorType = {
  validateFormData: () => ({ errors: [], errorSchema: {} }),
  isValid: (schema, formData) => fits(schema, formData),
  rawValidation: () => ({ errors: [] }),
};
