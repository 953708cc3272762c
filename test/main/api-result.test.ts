// A throw becomes a Result with the right code: an AtlasFailure keeps its kind, an AtlasError is
// 'user', an abort 'cancelled', anything else 'internal' (a bug, said so).

import { describe, expect, it } from 'vitest';
import { attempt, toApiError } from '../../main/api-result.ts';
import { AtlasError } from '../../main/errors.ts';
import { AtlasFailure } from '../../main/failures.ts';

describe('toApiError', () => {
  it('maps each kind of throw to its code, with the hint', () => {
    expect(toApiError(new AtlasFailure('not-found', 'No run 3.'))).toEqual({
      code: 'not-found',
      message: 'No run 3.',
    });
    expect(toApiError(new AtlasFailure('no-project', 'No project is open.', 'Open one.'))).toEqual({
      code: 'no-project',
      message: 'No project is open.',
      hint: 'Open one.',
    });
    expect(toApiError(new AtlasError('Bad file.', 'Fix it.'))).toEqual({
      code: 'user',
      message: 'Bad file.',
      hint: 'Fix it.',
    });
    const abort = new Error('stop');
    abort.name = 'AbortError';
    expect(toApiError(abort)).toEqual({ code: 'cancelled', message: 'Cancelled.' });
    expect(toApiError(new TypeError('x is undefined'))).toMatchObject({
      code: 'internal',
      message: 'Internal error: x is undefined',
    });
  });

  it('attempt returns values and never throws', async () => {
    expect(await attempt(() => 3)).toEqual({ ok: true, value: 3 });
    expect(
      await attempt(() => {
        throw new AtlasFailure('unsupported', 'No dialog.');
      }),
    ).toEqual({ ok: false, error: { code: 'unsupported', message: 'No dialog.' } });
  });
});
