import { render } from 'preact';
import { ErrorBoundary, LocationProvider, Route, Router, lazy } from 'preact-iso';
import './styles.css';

// Each page is its own chunk, loaded when first opened: the user page never downloads the operator's
// pages, and only the consumption report loads the chart library.
const pages = {
  prices: lazy(() => import('./operator/ActionPrices')),
  packages: lazy(() => import('./operator/Packages')),
  userSearch: lazy(() => import('./operator/UserSearch')),
  user: lazy(() => import('./operator/UserDetail')),
  orders: lazy(() => import('./operator/Orders')),
  order: lazy(() => import('./operator/OrderDetail')),
  consumption: lazy(() => import('./operator/Consumption')),
  webhooks: lazy(() => import('./operator/Webhooks')),
  reconciliation: lazy(() => import('./operator/Reconciliation')),
  schedules: lazy(() => import('./operator/Schedules')),
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
