/**
 * The tasks and workflows of `examples/` that the example stack deploys: importing a module
 * registers what it defines. The demo and the timeline renderer define nothing.
 */
import "../examples/elevator.ts";
import "../examples/flaky-payment.ts";
import "../examples/notification.ts";
import "../examples/process-order.ts";
import "../examples/rate-limited-api.ts";
import "../examples/retry-by-name.ts";
