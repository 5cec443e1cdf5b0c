/**
 * What the API tells the console about its surroundings (`GET /console/config.json`, api/console.ts):
 * where the Temporal Web UI is, so an order or a schedule run links to its workflow.
 */
export interface ConsoleConfig {
  temporalUiUrl: string | null;
  temporalNamespace: string;
}

let loaded: Promise<ConsoleConfig> | undefined;

export function consoleConfig(): Promise<ConsoleConfig> {
  loaded ??= fetch('/console/config.json')
    .then((response) => (response.ok ? (response.json() as Promise<ConsoleConfig>) : Promise.reject(new Error(String(response.status)))))
    .catch(() => ({ temporalUiUrl: null, temporalNamespace: 'default' }));
  return loaded;
}

/** The run's page in the Temporal Web UI (its latest run), or null when the UI's address is not configured. */
export function temporalWorkflowUrl(config: ConsoleConfig, workflowId: string): string | null {
  if (!config.temporalUiUrl) return null;
  const base = config.temporalUiUrl.replace(/\/$/, '');
  return `${base}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
