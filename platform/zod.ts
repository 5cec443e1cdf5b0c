/**
 * zod with OpenAPI metadata (`.openapi(...)`): every schema that documents the API imports `z` from
 * here, so the extension is applied once, before any schema is built.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
