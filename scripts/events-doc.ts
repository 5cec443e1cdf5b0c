/** Writes docs/events.md from the event type registry: `npm run events:doc`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderEventsDoc } from './docs/events-page';

writeFileSync(path.join(__dirname, '..', 'docs', 'events.md'), renderEventsDoc());
process.stdout.write('wrote docs/events.md\n');
