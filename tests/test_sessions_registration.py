"""Session registration: once per company, capacity and waiting list (race-safe on both databases), approval,
refusal with a reason the company sees, cancellation promoting the oldest waitlisted, invitations, check-in."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import CompanyKind, User
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.sessions import services
from marketplace.sessions.models import RegistrationStatus, SessionRegistration, SessionStatus
from marketplace.sessions.services import AttendeeInput, RegistrationAction
from tests.factories import make_company, make_user
from tests.test_sessions import make_scene, open_session, refused, set_status

R = RegistrationStatus


def attendee(name: str = "李四") -> AttendeeInput:
    return AttendeeInput(name, "138-0000-0000", "带样品")


def registrations(session_id: int) -> list[SessionRegistration]:
    return list(db.session.scalars(sa.select(SessionRegistration).where(SessionRegistration.session_id == session_id)
                                   .order_by(SessionRegistration.id).execution_options(populate_existing=True)))


def exporter_users(n: int) -> list[User]:
    return [make_user(company=make_company(kind=CompanyKind.EXPORTER)) for _ in range(n)]


def notifications_of(user: User) -> list[str]:
    """Subject and body of the user's notifications, as an English reader sees them."""
    rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    with force_locale("en"):
        return [f"{n.display_subject} / {n.display_body}" for n in rows]


def test_a_company_registers_once_as_its_kind(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        first = services.register_for_session(scene.exporter_user, session.id, attendee())
        assert first.status is R.PENDING and first.role.value == "exporter" and len(first.checkin_token) >= 43
        colleague = make_user(company=scene.exporter)
        with refused(ValidationFailed, "already registered"):
            services.register_for_session(colleague, session.id, attendee("别人"))
        assert len(registrations(session.id)) == 1
        assert services.register_for_session(scene.buyer_user, session.id, attendee()).role.value == "buyer"

        with refused(PermissionDenied, "organizers run them"):
            services.register_for_session(scene.organizer, session.id, attendee())
        unverified = make_user(company=make_company(kind=CompanyKind.EXPORTER, verified=False))
        with refused(PermissionDenied, "verified"):
            services.register_for_session(unverified, session.id, attendee())
        with refused(ValidationFailed, "name of who attends"):
            services.register_for_session(scene.rival_user, session.id, AttendeeInput(""))
        assert len(registrations(session.id)) == 2


def test_registration_only_while_open(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        for status in (SessionStatus.RUNNING, SessionStatus.FINISHED):
            set_status(session.id, status)
            with refused(ValidationFailed, "Registration is not open"):
                services.register_for_session(scene.exporter_user, session.id, attendee())
        for status in (SessionStatus.PREPARING, SessionStatus.CANCELLED):  # not public: as if it did not exist
            set_status(session.id, status)
            with pytest.raises(NotFound):
                services.register_for_session(scene.exporter_user, session.id, attendee())
        assert registrations(session.id) == []


def test_past_capacity_goes_on_the_waiting_list(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene, capacity=2)
        users = exporter_users(3)
        statuses = [services.register_for_session(user, session.id, attendee()).status for user in users]
        assert statuses == [R.PENDING, R.PENDING, R.WAITLISTED]
        assert services.held_places(session.id) == 2
        # approving frees nothing; refusing a pending one frees its place for the waiting one
        pending = registrations(session.id)
        services.decide_registration(scene.organizer, session.id, pending[0].id, RegistrationAction.APPROVE, None)
        assert [r.status for r in registrations(session.id)] == [R.APPROVED, R.PENDING, R.WAITLISTED]


def _register(app, user_id: int, session_id: int, barrier, outcomes, lock):
    with app.app_context():
        barrier.wait()  # outside any transaction: on SQLite a thread at the barrier must not hold the write lock
        try:
            user = db.session.get(User, user_id)
            outcome = services.register_for_session(user, session_id, attendee()).status.value
        except (ValidationFailed, Conflict) as error:
            outcome = f"refused: {type(error).__name__}"
        except Exception as error:  # anything else fails the test
            outcome = f"error: {type(error).__name__}: {error}"
        finally:
            db.session.remove()
        with lock:
            outcomes.append(outcome)


def _race(app, user_ids: list[int], session_id: int) -> list[str]:
    barrier, outcomes, lock = threading.Barrier(len(user_ids)), [], threading.Lock()
    threads = [threading.Thread(target=_register, args=(app, uid, session_id, barrier, outcomes, lock))
               for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_two_companies_racing_for_the_last_place_one_gets_it(app, db_backend):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene, capacity=2)
        services.register_for_session(scene.exporter_user, session.id, attendee())  # one place left
        racers = [u.id for u in exporter_users(2)]
        session_id = session.id
        db.session.remove()
    for round_number in range(3):
        outcomes = _race(app, racers, session_id)
        assert outcomes == ["pending", "waitlisted"], (db_backend, round_number, outcomes)
        with app.app_context():
            assert services.held_places(session_id) == 2
            # give the place back and race again
            for registration in registrations(session_id):
                if registration.company.users[0].id in racers:
                    db.session.delete(registration)
            db.session.commit()
            db.session.remove()


def test_the_same_company_registering_twice_at_once_makes_one_row(app, db_backend):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        colleague = make_user(company=scene.exporter)
        ids, session_id = [scene.exporter_user.id, colleague.id], session.id
        db.session.remove()
    outcomes = _race(app, ids, session_id)
    assert outcomes[0] == "pending" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        assert len(registrations(session_id)) == 1


def test_refusal_needs_a_reason_and_the_company_sees_it(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        registration = services.register_for_session(scene.exporter_user, session.id, attendee())
        for reason in (None, "   "):
            with refused(ValidationFailed, "reason for refusing"):
                services.decide_registration(scene.organizer, session.id, registration.id, RegistrationAction.REFUSE,
                                             registration.version, reason)
        assert registrations(session.id)[0].status is R.PENDING
        with pytest.raises(Conflict):  # a stale page
            services.decide_registration(scene.organizer, session.id, registration.id, RegistrationAction.APPROVE,
                                         registration.version + 5)
        with pytest.raises(NotFound):  # another organizer changing the id in the URL
            services.decide_registration(scene.other_organizer, session.id, registration.id,
                                         RegistrationAction.APPROVE, None)
        services.decide_registration(scene.organizer, session.id, registration.id, RegistrationAction.REFUSE,
                                     registration.version, "本场只面向小家电类企业")
        refused_row = registrations(session.id)[0]
        assert refused_row.status is R.REFUSED and refused_row.refusal_reason == "本场只面向小家电类企业"
        assert any("refused" in text and "本场只面向小家电类企业" in text
                   for text in notifications_of(scene.exporter_user))
        with refused(ValidationFailed, "already registered"):  # a refused company does not simply register again
            services.register_for_session(scene.exporter_user, session.id, attendee())


def test_cancelling_frees_a_place_for_the_oldest_waitlisted(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene, capacity=1)
        holder, first_waiting, second_waiting = exporter_users(3)
        held = services.register_for_session(holder, session.id, attendee())
        services.register_for_session(first_waiting, session.id, attendee())
        services.register_for_session(second_waiting, session.id, attendee())
        assert [r.status for r in registrations(session.id)] == [R.PENDING, R.WAITLISTED, R.WAITLISTED]

        services.cancel_own_registration(holder, session.id, held.version)
        assert [r.status for r in registrations(session.id)] == [R.CANCELLED, R.PENDING, R.WAITLISTED]
        assert any("place has come free" in text for text in notifications_of(first_waiting))
        assert not notifications_of(second_waiting)

        # the organizer cancelling frees the place again, for the next one
        promoted = registrations(session.id)[1]
        services.decide_registration(scene.organizer, session.id, promoted.id, RegistrationAction.CANCEL, None)
        assert [r.status for r in registrations(session.id)] == [R.CANCELLED, R.CANCELLED, R.PENDING]
        # the company that cancelled may come back: at the end of the queue
        again = services.register_for_session(holder, session.id, attendee())
        assert again.id == held.id and again.status is R.WAITLISTED
        # raising the capacity promotes it
        services.update_session(scene.organizer, session.id, _input_of(session, capacity=2), None)
        assert registrations(session.id)[0].status is R.PENDING
        with refused(ValidationFailed, "already hold a place"):
            services.update_session(scene.organizer, session.id, _input_of(session, capacity=1), None)


def _input_of(session, **changes) -> services.SessionInput:
    values = {"title": session.title, "starts_at": session.starts_at, "ends_at": session.ends_at,
              "province_code": session.province_code, "city_code": session.city_code, "venue": session.venue,
              "capacity": session.capacity, "host_company_ids": tuple(h.company_id for h in session.hosts)}
    values.update(changes)
    return services.SessionInput(**values)


def test_invitations_give_approved_places_while_places_are_left(app):
    with app.app_context():
        scene = make_scene()
        session = services.create_session(scene.organizer, _scene_input(scene, capacity=1))  # still preparing
        invited = services.invite_company(scene.organizer, session.id, scene.exporter.id)
        assert invited.status is R.APPROVED and invited.invited
        assert any("invited your company" in text for text in notifications_of(scene.exporter_user))
        with refused(ValidationFailed, "session is full"):
            services.invite_company(scene.organizer, session.id, scene.rival.id)
        with refused(ValidationFailed, "already registered"):
            services.invite_company(scene.organizer, session.id, scene.exporter.id)
        with refused(ValidationFailed, "Only verified exporters and buyer companies"):
            services.invite_company(scene.organizer, session.id, scene.other_organizer.company_id)
        with pytest.raises(NotFound):
            services.invite_company(scene.other_organizer, session.id, scene.rival.id)
        set_status(session.id, SessionStatus.RUNNING)
        with refused(ValidationFailed, "Invitations are sent while"):
            services.invite_company(scene.organizer, session.id, scene.rival.id)
        assert len(registrations(session.id)) == 1


def _scene_input(scene, **changes):
    from tests.test_sessions import session_input

    return session_input(host_company_ids=(scene.host.id,), **changes)


def test_check_in_once_then_already_and_only_approved_of_this_session(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        other = open_session(scene, title="另一场")
        approved = services.register_for_session(scene.exporter_user, session.id, attendee())
        services.decide_registration(scene.organizer, session.id, approved.id, RegistrationAction.APPROVE, None)
        pending = services.register_for_session(scene.rival_user, session.id, attendee())
        elsewhere = services.register_for_session(scene.buyer_user, other.id, attendee())
        services.decide_registration(scene.organizer, other.id, elsewhere.id, RegistrationAction.APPROVE, None)

        first = services.check_in(scene.organizer, session.id, approved.checkin_token)
        assert not first.already and first.registration.checked_in_at is not None
        stamp = first.registration.checked_in_at
        again = services.check_in(scene.organizer, session.id, f"https://rongtong.example/sessions/{session.id}"
                                                               f"/check-in/{approved.checkin_token}")
        assert again.already and again.registration.checked_in_at == stamp
        with refused(NotFound, "No registration of this session"):
            services.check_in(scene.organizer, session.id, elsewhere.checkin_token)
        with refused(ValidationFailed, "Only approved registrations"):
            services.check_in(scene.organizer, session.id, pending.checkin_token)
        with pytest.raises(NotFound):  # another organizer, with a valid token
            services.check_in(scene.other_organizer, session.id, approved.checkin_token)
        # the badge's short code, typed in two groups, works too
        services.decide_registration(scene.organizer, session.id, pending.id, RegistrationAction.APPROVE, None)
        code = services.short_code(pending.checkin_token)
        assert not services.check_in(scene.organizer, session.id, f"{code[:4]} {code[4:]}").already
        with refused(ValidationFailed, "can no longer be cancelled"):
            services.decide_registration(scene.organizer, session.id, pending.id, RegistrationAction.CANCEL, None)
        assert registrations(session.id)[0].checked_in_at == stamp
