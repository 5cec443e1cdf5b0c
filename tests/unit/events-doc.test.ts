import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderEventsDoc } from '../../scripts/docs/events-page';
import { EVENT_TYPES } from '../../platform/outbox/event-types';

describe('docs/events.md', () => {
  it('is generated from the current event schemas (run `npm run events:doc` after changing platform/outbox/event-types.ts)', () => {
    expect(readFileSync(path.join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8')).toBe(renderEventsDoc());
  });
  it('lists every event type', () => {
    const page = renderEventsDoc();
    for (const type of Object.keys(EVENT_TYPES)) expect(page).toContain(`### \`${type}\``);
  });
});
