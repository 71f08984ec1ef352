-- Delivery is woken by the code that makes mail due (src/emails/: enqueue, send
-- now, reschedule, retry, release), in the same transaction, not by a trigger on
-- every row: one NOTIFY per change instead of one per row, and one place that
-- says when delivery looks again.
DROP TRIGGER emails_notify_delivery ON emails;
DROP FUNCTION emails_notify_delivery();
