// Project files: one SQLite file per project (DESIGN.md "Project files (contract)").

export { Project, PROJECT_EXTENSION } from './project.ts';
export { canonicalJson, configHash } from './config-hash.ts';
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
export type * from './rows.ts';
