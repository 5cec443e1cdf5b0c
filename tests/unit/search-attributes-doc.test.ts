/**
 * docs/operations.md lists the search attributes an operator can filter on; the list the worker registers is
 * SEARCH_ATTRIBUTE_KEYS. The doc's table must name every one of them, with its type, and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

/** How the Temporal UI and CLI spell each type (`temporal operator search-attribute create --type`). */
const TYPE_NAME: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

function documentedAttributes(): Array<[string, string]> {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Finding runs in the Temporal UI'));
  const table = section.slice(section.indexOf('| Attribute |'), section.indexOf('Example filters:'));
  return [...table.matchAll(/^\| `(\w+)` \| (\w+) \|/gm)].map((match) => [match[1]!, match[2]!]);
}

it('docs/operations.md lists every registered search attribute with its type, and no other', () => {
  const registered = SEARCH_ATTRIBUTE_KEYS.map((key): [string, string] => [key.name, TYPE_NAME[key.type]]);
  expect(documentedAttributes()).toEqual(registered);
});
