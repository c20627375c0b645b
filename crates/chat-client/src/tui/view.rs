//! Drawing the state: messages above, the status line, the input line at the
//! bottom. Pure rendering into a ratatui [`Frame`], so tests can draw into a
//! `TestBackend` and snapshot the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, ConnState, Entry, Kind};
use super::theme::Theme;

/// The prompt in front of the input line.
const PROMPT: &str = "> ";

/// Draw everything.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &mut App, theme: Theme) {
    let [messages, status, input] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_messages(frame, messages, app, theme);
    draw_status(frame, status, app, theme);
    draw_input(frame, input, app);
}

/// The shown window's scrollback, bottom-aligned, scrolled up as far as
/// that window was left.
fn draw_messages(frame: &mut Frame<'_>, area: Rect, app: &mut App, theme: Theme) {
    let height = usize::from(area.height);
    app.page = height.max(1);
    if area.width == 0 || height == 0 {
        return;
    }
    // Walk back from the newest line until the screen (plus the scrolled-up
    // part) is full.
    let window = app.windows.shown_mut();
    let want = height + window.scroll;
    let mut lines = Vec::new();
    let mut rows = 0;
    for entry in window.entries.iter().rev() {
        let line = render_entry(entry, theme);
        rows += Paragraph::new(line.clone())
            .wrap(Wrap { trim: false })
            .line_count(area.width);
        lines.push(line);
        if rows >= want {
            break;
        }
    }
    lines.reverse();
    // Not enough lines to scroll that far: stop at the oldest.
    window.scroll = window.scroll.min(rows.saturating_sub(height));
    let skip = rows.saturating_sub(height + window.scroll);
    let shown = rows.min(height);
    let area = Rect {
        y: area.y + area.height - u16::try_from(shown).unwrap_or(area.height),
        height: u16::try_from(shown).unwrap_or(area.height),
        ..area
    };
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((u16::try_from(skip).unwrap_or(u16::MAX), 0));
    frame.render_widget(paragraph, area);
}

/// One scrollback entry as one (wrappable) line.
pub(crate) fn render_entry(entry: &Entry, theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    if !entry.time.is_empty() {
        spans.push(Span::styled(entry.time.clone(), theme.time()));
        spans.push(Span::raw(" "));
    }
    let body = if entry.mention {
        theme.mention()
    } else {
        Style::new()
    };
    match &entry.kind {
        Kind::Chat {
            nick,
            text,
            action,
            own,
        } => {
            let nick_style = if *own {
                theme.own_nick()
            } else {
                theme.nick(nick)
            };
            if *own {
                spans.push(Span::styled("» ", theme.own_mark()));
            }
            if *action {
                spans.push(Span::raw("* "));
                spans.push(Span::styled(nick.clone(), nick_style));
                spans.push(Span::raw(" "));
            } else {
                spans.push(Span::raw("<"));
                spans.push(Span::styled(nick.clone(), nick_style));
                spans.push(Span::raw("> "));
            }
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Private { nick, text, sent } => {
            let label = if *sent {
                format!("-> *{nick}* ")
            } else {
                format!("*{nick}* ")
            };
            spans.push(Span::styled(label, theme.private()));
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Operator { name, text } => {
            spans.push(Span::styled(
                format!("-{name}- "),
                Style::new().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Notice { text, error } => {
            let style = if *error {
                theme.error()
            } else {
                theme.notice()
            };
            spans.push(Span::styled(format!("-!- {text}"), style));
        }
        Kind::Local { text } => {
            spans.push(Span::styled(format!("*** {text}"), theme.notice()));
        }
        Kind::Raw { text } => spans.push(Span::raw(text.clone())),
    }
    Line::from(spans)
}

/// `[*1:lobby] [2:dev(3)] │ nick │ state │ server`, with a note before
/// the server when scrolled up. Most needed first: a narrow terminal cuts
/// the line at the right.
fn draw_status(frame: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let state = match app.conn {
        ConnState::Connected => "connected".to_owned(),
        ConnState::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
        ConnState::Disconnected => "disconnected".to_owned(),
    };
    let nick = app.nick.as_deref().unwrap_or("-");
    let mut spans = vec![Span::raw(" ")];
    spans.extend(window_spans(app, theme));
    let mut text = format!(" │ {nick} │ {state}");
    let scroll = app.windows.shown().scroll;
    if scroll > 0 {
        text.push_str(&format!(" │ scrolled up {scroll} (PgDn)"));
    }
    text.push_str(&format!(" │ {}", app.server));
    spans.push(Span::raw(text));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status()),
        area,
    );
}

/// The window list: `[N:room]`, `(COUNT)` unread lines, `!` after the count
/// when one mentions me; `*` before the shown window's number. Marked in
/// text as well as in style, so it reads the same without colours.
pub(crate) fn window_spans(app: &App, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (index, window) in app.windows.iter().enumerate() {
        if index > 0 {
            spans.push(Span::raw(" "));
        }
        let shown = index == app.windows.shown_index();
        let mut label = format!("[{}{}", if shown { "*" } else { "" }, index + 1);
        if let Some(room) = &window.room {
            label.push(':');
            label.push_str(room);
        }
        if window.unread > 0 {
            let mention = if window.mention { "!" } else { "" };
            label.push_str(&format!("({}{mention})", window.unread));
        }
        label.push(']');
        let style = if shown {
            theme.status_shown()
        } else if window.mention {
            theme.status_mention()
        } else if window.unread > 0 {
            theme.status_unread()
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
    }
    spans
}

/// The prompt and the input line, scrolled sideways to keep the cursor visible.
fn draw_input(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let prompt_width = u16::try_from(PROMPT.len()).unwrap_or(2);
    let [prompt_area, text_area] =
        Layout::horizontal([Constraint::Length(prompt_width), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(
            PROMPT,
            Style::new().add_modifier(Modifier::BOLD),
        )),
        prompt_area,
    );
    // One cell stays free for the cursor after the last character.
    let width = usize::from(text_area.width.saturating_sub(1)).max(1);
    let scroll = app.input.visual_scroll(width);
    frame.render_widget(
        Paragraph::new(app.input.value()).scroll((0, u16::try_from(scroll).unwrap_or(0))),
        text_area,
    );
    let cursor = u16::try_from(app.input.visual_cursor().saturating_sub(scroll)).unwrap_or(0);
    let x = (text_area.x + cursor).min(area.right().saturating_sub(1));
    frame.set_cursor_position(Position::new(x, area.y));
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::history::History;

    fn screen(app: &mut App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        terminal
            .draw(|frame| draw(frame, app, Theme { colors: true }))
            .expect("draw");
        terminal.backend().to_string()
    }

    fn chat() -> App {
        let mut app = App::new(
            "127.0.0.1:21263".to_owned(),
            "%H:%M".to_owned(),
            History::load(None),
        );
        for line in [
            "[Tue Nov 24 21:03:31 2026] -!- Welcome, guest1! Be nice.",
            "[Tue Nov 24 21:03:31 2026] -!- guest1 joined lobby",
            "[Tue Nov 24 21:03:32 2026] -!- guest1 is now known as alice",
            "[Tue Nov 24 21:04:00 2026] <bob> hi alice, a long line that has to wrap around the edge",
            "[Tue Nov 24 21:04:10 2026] * carol waves",
            "[Tue Nov 24 21:04:20 2026] *bob* psst",
            "[Tue Nov 24 21:04:30 2026] -operator- be good",
            "[Tue Nov 24 21:04:40 2026] -!- error: unknown command /x (try /help)",
            "not a protocol line",
        ] {
            app.on_line(line);
        }
        app
    }

    #[test]
    fn a_chat_screen() {
        let mut app = chat();
        for c in "half typed".chars() {
            app.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        insta::assert_snapshot!("chat_screen", screen(&mut app, 50, 14));
    }

    #[test]
    fn scrolled_up_screen() {
        let mut app = chat();
        app.windows.shown_mut().scroll = 3;
        insta::assert_snapshot!("scrolled_screen", screen(&mut app, 50, 8));
    }

    #[test]
    fn scrolling_stops_at_the_oldest_line() {
        let mut app = chat();
        app.windows.shown_mut().scroll = 1000;
        let _ = screen(&mut app, 50, 8);
        let scroll = app.windows.shown().scroll;
        assert!(scroll < 20, "{scroll}");
    }

    /// alice in lobby and dev, reading dev; lobby has two unread lines,
    /// one of which mentions her, and ops one.
    fn two_rooms() -> App {
        let mut app = chat();
        for line in [
            "[Tue Nov 24 21:05:00 2026] -!- alice joined dev",
            "[Tue Nov 24 21:05:00 2026] -!- topic of dev: the build is green",
            "[Tue Nov 24 21:05:01 2026] (history) <carol> who broke the build?",
            "[Tue Nov 24 21:05:02 2026] #lobby <bob> lunch?",
            "[Tue Nov 24 21:05:03 2026] <carol> not me",
            "[Tue Nov 24 21:05:04 2026] #lobby <bob> alice, lunch?",
        ] {
            app.on_line(line);
        }
        app
    }

    #[test]
    fn two_windows_with_an_unread_count() {
        let mut app = two_rooms();
        insta::assert_snapshot!("two_windows", screen(&mut app, 50, 8));
        // The lobby, shown: its count is gone, its lines are there.
        app.on_event(&ratatui::crossterm::event::Event::Key(
            ratatui::crossterm::event::KeyEvent::new(
                ratatui::crossterm::event::KeyCode::Char('1'),
                ratatui::crossterm::event::KeyModifiers::ALT,
            ),
        ));
        insta::assert_snapshot!("two_windows_lobby_shown", screen(&mut app, 50, 8));
    }

    #[test]
    fn the_window_shown_and_a_mention_look_apart_in_the_status_line() {
        let app = two_rooms();
        for colors in [true, false] {
            let theme = Theme { colors };
            let spans = window_spans(&app, theme);
            let style_of = |label: &str| {
                spans
                    .iter()
                    .find(|span| span.content == label)
                    .map(|span| span.style)
            };
            let (lobby, dev) = (style_of("[1:lobby(2!)]"), style_of("[*2:dev]"));
            assert_eq!(lobby, Some(theme.status_mention()), "{spans:?}");
            assert_eq!(dev, Some(theme.status_shown()), "{spans:?}");
            assert_ne!(lobby, dev);
        }
    }

    #[test]
    fn long_input_keeps_the_cursor_visible() {
        let mut app = chat();
        for c in "0123456789".repeat(8).chars() {
            app.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        insta::assert_snapshot!("long_input", screen(&mut app, 40, 5));
    }
}
