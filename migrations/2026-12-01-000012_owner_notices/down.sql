SET lock_timeout = '5s';
SET statement_timeout = '60s';

DELETE FROM notification_templates WHERE event = 'webhook.disabled';
ALTER TABLE notification_templates DROP CONSTRAINT notification_templates_event_check;
ALTER TABLE notification_templates ADD CONSTRAINT notification_templates_event_check
    CHECK (event IN ('appointment.booked', 'appointment.confirmed',
        'appointment.cancelled', 'appointment.rescheduled', 'appointment.reminder',
        'lead.received', 'review.pending')) NOT VALID;
