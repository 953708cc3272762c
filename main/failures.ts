// Failures with a kind. An AtlasError (errors.ts) is something the user can fix; some of them are
// more precisely "that run does not exist" or "no project is open", and a host answers those with
// their own code (preload/api.ts ErrorCode) so the UI can tell them apart. Services and the results
// module throw these; they never see the transport's Result values (main/api-result.ts maps them).

import type { ErrorCode } from '../preload/api.ts';
import { AtlasError } from './errors.ts';

export type FailureKind = Extract<ErrorCode, 'not-found' | 'no-project' | 'invalid-argument' | 'unsupported'>;

export class AtlasFailure extends AtlasError {
  constructor(
    readonly kind: FailureKind,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = 'AtlasFailure';
  }
}
