// `pythia-atlas serve`: browser mode (contract). Serves the built renderer and the same AtlasApi
// over a WebSocket on 127.0.0.1 only, guarded by a random token; the URL is the first stdout line.

import { intOption, parse } from './args.ts';
import type { Command } from './commands.ts';

const USAGE = 'usage: pythia-atlas serve [--port P] [--project FILE] [--allow-path DIR ...]';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'browser mode: serve the app on 127.0.0.1 and print its URL',
  async run(argv) {
    const { values } = parse(
      argv,
      {
        port: { type: 'string' },
        project: { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
      },
      USAGE,
    );
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const { serve } = await import('../server.ts');
    const server = await serve({
      port: intOption(values.port, 'port', 0) ?? 0,
      project: values.project,
      allowPaths: values['allow-path'] ?? [],
    });
    process.stdout.write(`${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
