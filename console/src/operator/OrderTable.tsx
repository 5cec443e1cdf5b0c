import type { Schemas } from '../api/client';
import { StatusBadge, Table } from '../ui/components';
import { formatInstant, formatMoney } from '../ui/format';

export function OrderTable({ caption, orders, showUser }: { caption: string; orders: Schemas['Order'][]; showUser: boolean }) {
  return (
    <Table caption={caption}>
      <thead>
        <tr>
          <th scope="col">Order</th>
          {showUser ? <th scope="col">User</th> : null}
          <th scope="col">Package</th>
          <th scope="col">Channel</th>
          <th scope="col" class="num">Amount</th>
          <th scope="col" class="num">Refunded</th>
          <th scope="col">Status</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {orders.map((order) => (
          <tr key={order.id}>
            <th scope="row">
              <a href={`/console/orders/${order.id}`}>
                <code>{order.id.slice(0, 8)}</code>
                <span class="visually-hidden"> order {order.id}</span>
              </a>
            </th>
            {showUser ? (
              <td>
                <a href={`/console/users/${encodeURIComponent(order.userId)}`}>{order.userId}</a>
              </td>
            ) : null}
            <td>{order.package.name}</td>
            <td>{order.channel}</td>
            <td class="num">{formatMoney(order.amountMinor, order.currency)}</td>
            <td class="num">{order.refundedMinor ? formatMoney(order.refundedMinor, order.currency) : '—'}</td>
            <td>
              <StatusBadge status={order.status} />
            </td>
            <td>{formatInstant(order.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
