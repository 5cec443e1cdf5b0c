import { render } from 'preact';
import { ErrorBoundary, LocationProvider, Route, Router, lazy } from 'preact-iso';
import { requireAdmin } from './operator/Shell';
import './styles.css';

// Each page is its own chunk, loaded when first opened (an operator page only after sign-in): the user
// page never downloads the operator's pages, and only the consumption report loads the chart library.
const pages = {
  prices: requireAdmin(lazy(() => import('./operator/ActionPrices'))),
  packages: requireAdmin(lazy(() => import('./operator/Packages'))),
  userSearch: requireAdmin(lazy(() => import('./operator/UserSearch'))),
  user: requireAdmin(lazy(() => import('./operator/UserDetail'))),
  orders: requireAdmin(lazy(() => import('./operator/Orders'))),
  order: requireAdmin(lazy(() => import('./operator/OrderDetail'))),
  consumption: requireAdmin(lazy(() => import('./operator/Consumption'))),
  webhooks: requireAdmin(lazy(() => import('./operator/Webhooks'))),
  reconciliation: requireAdmin(lazy(() => import('./operator/Reconciliation'))),
  schedules: requireAdmin(lazy(() => import('./operator/Schedules'))),
  me: lazy(() => import('./user/MyAccount')),
};

function NotFound() {
  return (
    <main class="narrow">
      <h1>Not found</h1>
      <p>
        This console has no such page. <a href="/console">Operator console</a> · <a href="/console/me">My account</a>
      </p>
    </main>
  );
}

function App() {
  return (
    <LocationProvider scope="/console">
      <ErrorBoundary>
        <Router>
          <Route path="/console" component={pages.prices} />
          <Route path="/console/prices" component={pages.prices} />
          <Route path="/console/packages" component={pages.packages} />
          <Route path="/console/users" component={pages.userSearch} />
          <Route path="/console/users/:userId" component={pages.user} />
          <Route path="/console/orders" component={pages.orders} />
          <Route path="/console/orders/:orderId" component={pages.order} />
          <Route path="/console/consumption" component={pages.consumption} />
          <Route path="/console/webhooks" component={pages.webhooks} />
          <Route path="/console/reconciliation" component={pages.reconciliation} />
          <Route path="/console/schedules" component={pages.schedules} />
          <Route path="/console/me" component={pages.me} />
          <Route default component={NotFound} />
        </Router>
      </ErrorBoundary>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('app')!);
