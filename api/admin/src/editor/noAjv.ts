// Stands in for `@rjsf/validator-ajv8`, which `@rjsf/core` imports only for
// its test helper (`getTestRegistry`): Ajv generates code with `new
// Function`, which the admin's CSP refuses, so it is never bundled. The
// forms use `structuralValidator` (validator.ts).
const unavailable = undefined;
export default unavailable;
