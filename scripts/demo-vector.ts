// Saves a mean-difference vector into a project until `vector make` lands (issue 11, the other
// half): the global mean of one `means` store minus another's at a site and layer (the simplest
// steering vector; Turner et al. 2023, ActAdd; Rimsky et al. 2024, CAA, average such differences).
// node bin/run-ts.js scripts/demo-vector.ts PROJECT NAME RUN_A RUN_B SITE LAYER

import { Project } from '../main/library/project.ts';
import { loadMeanStore, siteMeans } from '../main/means/store.ts';

const [path, name, a, b, site, layerText] = process.argv.slice(2);
if (layerText === undefined) {
  process.stderr.write('usage: demo-vector.ts PROJECT NAME RUN_A RUN_B SITE LAYER\n');
  process.exit(2);
}
const layer = Number(layerText);
const project = Project.open(path);
const [ma, mb] = [Number(a), Number(b)].map((id) => siteMeans(loadMeanStore(project, id), site));
const F = ma.features;
const l = site === 'embed' ? 0 : layer;
const data = Float32Array.from({ length: F }, (_, f) => ma.global[l * F + f] - mb.global[l * F + f]);
const id = project.addVector({
  name,
  site,
  layer: site === 'embed' ? null : layer,
  data,
  recipe: { kind: 'mean_difference', from: Number(a), minus: Number(b), site, layer },
});
project.close();
process.stdout.write(`vector ${id} '${name}': norm ${Math.hypot(...data).toFixed(4)}\n`);
