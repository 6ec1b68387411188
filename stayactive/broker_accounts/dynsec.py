"""Accounts and topic rights on the local Mosquitto, through its dynamic-security plugin.

The plugin checks passwords, binds client ids to accounts and authorises every SUBSCRIBE
against the account's roles (a refused subscription gets SUBACK 0x87), not only each delivery.
It is administered at run time by publishing JSON commands to ``$CONTROL/dynamic-security/v1``
as the admin account; the plugin saves its state to its JSON file itself, so nothing is
rewritten by us and the broker is never reloaded. :class:`DynsecAccounts` implements
:class:`stayactive.broker_accounts.BrokerAccounts` on it.

Roles (priorities decide between an allow and a deny that both match):

- ``device:<id>``, one per device (the plugin has no ``%c`` substitution in 2.0): publish to its
  own telemetry, events and status; subscribe to and receive its own config and ack.
- ``ingest``, shared by the worker accounts: subscribe to every device topic, plainly or in any
  share group; receive what devices send but not the backend's own config and ack downlinks
  (which would come back as rejects); publish config and ack downlinks; read the broker's
  ``$SYS/broker/store`` and drop counters for the queue metrics.
- ``admin``: the plugin's control topics only.

Everything not granted is refused (``defaultACLAccess`` all false but unsubscribe).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from stayactive.broker_accounts._interface import (
    RESERVED_NAMES,
    AccountConflict,
    AccountKind,
    BrokerAccount,
    DeviceCertificate,
    check_account_name,
    refuse_reserved,
)
from stayactive.broker_accounts.local_ca import LocalCA
from stayactive.errors import ConfigurationError, ServiceError
from stayactive.paths import MQTT_ADMIN_PASSWORD, ServicePaths
from stayactive.settings import Settings

log = logging.getLogger(__name__)

ADMIN_ACCOUNT = "stayactive-admin"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
DEVICE_ROLE_PREFIX = "device:"
SERVICE_ROLES: dict[AccountKind, str] = {"ingest": "ingest", "admin": "admin"}
#: Commands per control message: 25 devices' worth. The plugin answers a message only when it
#: has run all of its commands, and it rewrites its whole file after each one (Mosquitto 2.0.x),
#: so a command costs time in proportion to the accounts already held: ~40 ms each with 1100
#: accounts on a loaded machine. Small messages keep each wait short and its timeout meaningful.
_COMMANDS_PER_MESSAGE = 50
#: Time allowed per command of a message, on top of the client's timeout.
_SECONDS_PER_COMMAND = 0.5
_PBKDF2_ITERATIONS = 101  # what the plugin itself uses for new passwords


def _acl(acltype: str, topic: str, *, allow: bool = True, priority: int = 0) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": allow, "priority": priority}


def device_acls(device_id: str) -> list[dict[str, Any]]:
    """The topic rights of one device (protocol: "Topics and access")."""
    base = f"stayactive/v1/{device_id}"
    return [
        *(_acl("publishClientSend", f"{base}/{c}") for c in ("telemetry", "events", "status")),
        *(_acl("subscribeLiteral", f"{base}/{c}") for c in ("config", "ack")),
        *(_acl("publishClientReceive", f"{base}/{c}") for c in ("config", "ack")),
    ]


ROLE_ACLS: dict[str, list[dict[str, Any]]] = {
    "ingest": [
        _acl("subscribePattern", "stayactive/v1/#"),
        _acl("subscribePattern", "$share/+/stayactive/v1/#"),
        _acl("publishClientReceive", "stayactive/v1/+/config", allow=False, priority=10),
        _acl("publishClientReceive", "stayactive/v1/+/ack", allow=False, priority=10),
        _acl("publishClientReceive", "stayactive/v1/#"),
        _acl("publishClientSend", "stayactive/v1/+/config"),
        _acl("publishClientSend", "stayactive/v1/+/ack"),
        _acl("subscribePattern", "$SYS/broker/store/#"),
        # The queue counters of ingest/broker_watch.py.
        _acl("subscribeLiteral", "$SYS/broker/publish/messages/dropped"),
        _acl("subscribeLiteral", "$SYS/broker/retained messages/count"),
        _acl("publishClientReceive", "$SYS/broker/store/#"),
        _acl("publishClientReceive", "$SYS/broker/publish/messages/dropped"),
        _acl("publishClientReceive", "$SYS/broker/retained messages/count"),
    ],
    "admin": [
        # Clearing a removed or new device's retained ack, so no stale watermark reaches it.
        _acl("publishClientSend", "stayactive/v1/+/ack"),
        _acl("publishClientSend", "$CONTROL/dynamic-security/#"),
        _acl("publishClientReceive", "$CONTROL/dynamic-security/#"),
        _acl("subscribePattern", "$CONTROL/dynamic-security/#"),
    ],
}


def _hash(password: str, salt: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    return base64.b64encode(digest).decode()


def initial_config(admin_password: str, migrated: Mapping[str, str] | None = None) -> str:
    """The plugin's JSON file for a new broker: the admin account, the roles, nothing else
    allowed; with ``migrated`` ({device_id: "$7$iterations$salt$hash"} from a Mosquitto password
    file) the devices of an older setup keep their passwords."""
    salt = secrets.token_bytes(12)
    clients: list[dict[str, Any]] = [
        {
            "username": ADMIN_ACCOUNT,
            "textdescription": "admin",
            "roles": [{"rolename": "admin"}],
            "password": _hash(admin_password, salt),
            "salt": base64.b64encode(salt).decode(),
            "iterations": _PBKDF2_ITERATIONS,
        }
    ]
    roles = [{"rolename": name, "acls": acls} for name, acls in ROLE_ACLS.items()]
    for device_id, hashed in sorted((migrated or {}).items()):
        _, kind, iterations, salt_b64, hash_b64 = hashed.split("$")
        if kind != "7":
            log.warning("not migrating %s: password hash of unknown kind $%s$", device_id, kind)
            continue
        role = DEVICE_ROLE_PREFIX + device_id
        roles.append({"rolename": role, "acls": device_acls(device_id)})
        clients.append(
            {
                "username": device_id,
                "clientid": device_id,
                "textdescription": "device",
                "roles": [{"rolename": role}],
                "password": hash_b64,
                "salt": salt_b64,
                "iterations": int(iterations),
            }
        )
    document = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }
    return json.dumps(document, indent=1)


def read_password_file(path: Path) -> dict[str, str]:
    """{user: hash} of a Mosquitto password file (the setup before dynamic security)."""
    accounts: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            user, hashed = line.split(":", 1)
            accounts[user] = hashed
    return accounts


def local_accounts(settings: Settings) -> DynsecAccounts:
    """The local broker's accounts, with its admin password and CA from the data directory."""
    paths = ServicePaths(settings.data_dir)
    password = paths.secret(MQTT_ADMIN_PASSWORD)
    if password is None:
        raise ConfigurationError(
            f"no broker admin password in {paths.secrets_dir}: run `stayactive services up` "
            "(as the user who owns the data directory)"
        )
    return DynsecAccounts("127.0.0.1", settings.mqtt_port, password, ca=LocalCA(paths))


class DynsecError(ServiceError):
    """The plugin refused a command."""


class DynsecAccounts:
    """:class:`~stayactive.broker_accounts.BrokerAccounts` on Mosquitto's dynamic security."""

    def __init__(
        self,
        host: str,
        port: int,
        admin_password: str,
        *,
        timeout_s: float = 10.0,
        ca: LocalCA | None = None,
    ) -> None:
        """``ca``: the CA whose client certificates the broker's certificate listener trusts
        (None: this broker gives no certificates)."""
        self.host, self.port = host, port
        self._password = admin_password
        self._timeout_s = timeout_s
        self._ca = ca

    # --- BrokerAccounts ------------------------------------------------------------------

    def list_accounts(self) -> list[BrokerAccount]:
        reply = self.execute([{"command": "listClients", "verbose": True}])[0]
        return [_account(c) for c in reply.get("data", {}).get("clients", [])]

    def get(self, username: str) -> BrokerAccount | None:
        """One account, or None when the broker has none of that name."""
        command = {"command": "getClient", "username": username}
        reply = self.execute([command], tolerate=("Client not found",))[0]
        client = reply.get("data", {}).get("client")
        return None if reply.get("error") or not client else _account(client)

    def create_devices(self, passwords: Mapping[str, str]) -> None:
        for device_id in passwords:
            check_account_name(device_id)
        existing = {a.username: a for a in self.list_accounts()}
        refuse_reserved(passwords, existing.values())
        commands: list[dict[str, Any]] = []
        for device_id, password in passwords.items():
            role = DEVICE_ROLE_PREFIX + device_id
            if device_id in existing:
                commands.append(
                    {"command": "setClientPassword", "username": device_id, "password": password}
                )
                continue
            commands += [
                {"command": "createRole", "rolename": role, "acls": device_acls(device_id)},
                {
                    "command": "createClient",
                    "username": device_id,
                    "password": password,
                    "clientid": device_id,
                    "textdescription": "device",
                    "roles": [{"rolename": role}],
                },
            ]
        self.execute(commands, tolerate=("Role already exists",))
        self._clear_acks([d for d in passwords if d not in existing])

    def rotate(self, username: str, password: str) -> None:
        self.execute([{"command": "setClientPassword", "username": username, "password": password}])

    def set_enabled(self, username: str, enabled: bool) -> None:
        commands = [
            {"command": "enableClient" if enabled else "disableClient", "username": username}
        ]
        reply = self.execute([{"command": "getClient", "username": username}])[0]
        client = reply.get("data", {}).get("client", {})
        role = DEVICE_ROLE_PREFIX + username
        if client.get("textdescription") == "device":
            # A device with a client certificate logs in without the plugin (Mosquitto 2.0.21
            # skips the password check, and with it the "disabled" flag, for a certificate
            # listener); without its role a disabled device may neither publish nor subscribe.
            has_role = role in {r.get("rolename") for r in client.get("roles", [])}
            if not enabled and has_role:
                commands.append(
                    {"command": "removeClientRole", "username": username, "rolename": role}
                )
            elif enabled and not has_role:
                commands.append(
                    {"command": "addClientRole", "username": username, "rolename": role}
                )
        self.execute(commands)

    def remove(self, usernames: Sequence[str]) -> None:
        commands: list[dict[str, Any]] = []
        for name in usernames:
            commands.append({"command": "deleteClient", "username": name})
            commands.append({"command": "deleteRole", "rolename": DEVICE_ROLE_PREFIX + name})
        self.execute(commands, tolerate=("Client not found", "Role not found"))
        self._clear_acks(list(usernames))

    def _clear_acks(self, device_ids: Sequence[str]) -> None:
        """Clear the retained ack watermark of device ids that are new or gone: a watermark of
        an earlier device of the same id would tell the new one its messages are stored."""
        if not device_ids:
            return
        client, _inbox = self._connect()
        try:
            infos = [
                client.publish(f"stayactive/v1/{d}/ack", b"", qos=1, retain=True)
                for d in device_ids
            ]
            for info in infos:
                info.wait_for_publish(self._timeout_s)
        finally:
            client.disconnect()
            client.loop_stop()

    def create_service(self, username: str, password: str, kind: AccountKind = "ingest") -> None:
        check_account_name(username)
        if username.lower() in RESERVED_NAMES and kind != "admin":
            raise AccountConflict(f"{username!r} is a reserved name")
        found = self.get(username)
        if found is not None and found.kind == "device":
            raise AccountConflict(f"{username!r} is a device account, not a service account")
        if found is not None:
            self.execute(
                [{"command": "setClientPassword", "username": username, "password": password}]
            )
            return
        self.execute(
            [
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "clientid": username,
                    "textdescription": kind,
                    "roles": [{"rolename": SERVICE_ROLES[kind]}],
                }
            ]
        )

    def issue_certificate(self, device_id: str) -> DeviceCertificate:
        if self._ca is None:
            raise ConfigurationError("this broker has no CA for device certificates")
        found = self.get(device_id)
        if found is None or found.kind != "device":
            raise AccountConflict(f"{device_id!r} is not a device account on the broker")
        return self._ca.issue_client(device_id)

    # --- roles -----------------------------------------------------------------------------

    def ensure_roles(self) -> None:
        """Bring the service roles' ACLs to what this version of the code says (``services
        up`` runs it on every start, so an upgrade that changes a role takes effect)."""
        commands: list[dict[str, Any]] = []
        for name, acls in ROLE_ACLS.items():
            commands.append({"command": "createRole", "rolename": name})
            commands.append({"command": "modifyRole", "rolename": name, "acls": acls})
        self.execute(commands, tolerate=("Role already exists",))

    # --- the control channel ---------------------------------------------------------------

    def execute(
        self, commands: Sequence[dict[str, Any]], *, tolerate: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Send commands to the plugin and return its replies, in order; a reply with an error
        other than those in ``tolerate`` raises :class:`DynsecError`."""
        replies: list[dict[str, Any]] = []
        if not commands:
            return replies
        client, inbox = self._connect()
        try:
            for start in range(0, len(commands), _COMMANDS_PER_MESSAGE):
                chunk = [
                    {**c, "correlationData": str(start + i)}
                    for i, c in enumerate(commands[start : start + _COMMANDS_PER_MESSAGE])
                ]
                replies += self._send(client, inbox, chunk)
        finally:
            client.disconnect()
            client.loop_stop()
        for command, reply in zip(commands, replies, strict=True):
            error = reply.get("error")
            if error and error not in tolerate:
                raise DynsecError(
                    f"the broker refused {command['command']} "
                    f"({command.get('username') or command.get('rolename')}): {error}"
                )
        return replies

    def _connect(self) -> tuple[mqtt.Client, _Inbox]:
        inbox = _Inbox()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"{ADMIN_ACCOUNT}-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(ADMIN_ACCOUNT, self._password)
        client.on_connect = inbox.on_connect
        client.on_subscribe = inbox.on_subscribe
        client.on_message = inbox.on_message
        try:
            client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise ServiceError(
                f"cannot reach the broker at {self.host}:{self.port}: {exc}"
            ) from exc
        client.loop_start()
        try:
            if not inbox.connected.wait(self._timeout_s):
                raise ServiceError("the broker did not answer the admin's CONNECT")
            if inbox.refused:
                raise ServiceError(f"the broker refused the admin account: {inbox.refused}")
            client.subscribe(RESPONSE_TOPIC, qos=1)
            if not inbox.subscribed.wait(self._timeout_s):
                raise ServiceError("the broker did not acknowledge the admin's subscription")
        except BaseException:
            client.disconnect()
            client.loop_stop()
            raise
        return client, inbox

    def _send(
        self, client: mqtt.Client, inbox: _Inbox, chunk: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        inbox.expect(len(chunk))
        client.publish(CONTROL_TOPIC, json.dumps({"commands": chunk}), qos=1)
        replies = inbox.wait(self._timeout_s + _SECONDS_PER_COMMAND * len(chunk))
        by_id = {r.get("correlationData"): r for r in replies}
        missing = [c["command"] for c in chunk if c["correlationData"] not in by_id]
        if missing:
            raise ServiceError(f"the broker did not answer {len(missing)} commands ({missing[0]})")
        return [by_id[c["correlationData"]] for c in chunk]


def _account(client: dict[str, Any]) -> BrokerAccount:
    roles = [r["rolename"] for r in client.get("roles", [])]
    kind: AccountKind
    if any(r.startswith(DEVICE_ROLE_PREFIX) for r in roles):
        kind = "device"
    elif "admin" in roles:
        kind = "admin"
    else:
        kind = "ingest"
    return BrokerAccount(
        username=client["username"],
        kind=kind,
        client_id=client.get("clientid"),
        enabled=not client.get("disabled", False),
    )


class _Inbox:
    """What the admin client receives, handed from paho's thread to the caller."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.refused: str | None = None
        self._replies: list[dict[str, Any]] = []
        self._expected = 0
        self._cond = threading.Condition()

    def on_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            self.refused = str(rc)
        self.connected.set()

    def on_subscribe(self, *_args: object) -> None:
        self.subscribed.set()

    def on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            responses = json.loads(message.payload).get("responses", [])
        except (ValueError, AttributeError):
            log.warning("unreadable reply on %s", message.topic)
            return
        with self._cond:
            self._replies += responses
            self._cond.notify_all()

    def expect(self, n: int) -> None:
        with self._cond:
            self._replies = []
            self._expected = n

    def wait(self, timeout_s: float) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self._replies) >= self._expected, timeout_s)
            return list(self._replies)
