"""`run_etl.py test-connection`: is the token accepted, and can we read the masters?

「接続に成功しました」 and exit 0; otherwise the client's error (auth / IP allow-list /
unreachable / TLS → exit 4, restricted hours → exit 5) is raised for the CLI to print as one
stderr line. The token is never printed.
"""
from __future__ import annotations

from etl.app.context import Context
from etl.app.options import ConnectionOptions
from etl.errors import AuthError, RestrictedHoursError


def test_connection_command(ctx: Context, opts: ConnectionOptions) -> int:
    settings = ctx.settings
    client = ctx.client()
    if not client.token_available():
        raise AuthError(
            "アクセストークンが無効です (失効・停止・再発行済み)。KING OF TIME の管理画面で有効なトークンを確認し、"
            f"環境変数 {settings.attendance_api.token_env} に設定し直してください")
    try:
        masters = client.masters()
        employees = client.employees()
    except RestrictedHoursError as e:
        when = f"{e.reopens_at:%H:%M} (JST) 以降に" if e.reopens_at else "制限時間帯が終わってから"
        raise RestrictedHoursError(
            e.reopens_at,
            f"アクセストークンは有効ですが、勤怠APIの利用制限時間帯 ({client.restricted_hours or '08:30-10:00, 17:30-18:30'} JST) の"
            f"ためデータを読めません。{when}再実行してください") from None
    ctx.out("接続に成功しました")
    ctx.out(f"接続先: {client.base_url}")
    ctx.out(f"所属 {len(masters.divisions)} 件 / 雇用区分 {len(masters.working_types)} 件 / "
            f"従業員 {len(employees)} 名 (在籍)")
    return 0
