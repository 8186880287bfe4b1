//! HEIC/HEIF decoding (iPhone photos) through the system's libheif, loaded
//! when the first HEIC arrives. Loading at run time keeps `cargo run` free of
//! C headers and build flags: a machine with libheif 1.x (Debian's
//! `libheif1`, with its HEVC decoder built in or as `libheif-plugin-libde265`)
//! reads iPhone photos, and one without says so through [`Error::Unavailable`].

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

/// Sonames of the stable ABI (libheif 1.x), on Linux then macOS; never an unversioned
/// name, which a libheif 2 could answer with another ABI.
const LIBRARY_NAMES: [&str; 2] = ["libheif.so.1", "libheif.1.dylib"];
/// `heif_compression_HEVC`: the codec of iPhone photos.
const COMPRESSION_HEVC: c_int = 1;

// Values from libheif's public heif.h (stable across 1.x).
const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHROMA_INTERLEAVED_RGBA: c_int = 11;
const CHANNEL_INTERLEAVED: c_int = 10;

/// A decoded primary image: 8-bit interleaved RGB or RGBA rows, no padding.
#[derive(Debug)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    pub pixels: Vec<u8>,
    /// The raw ICC profile, when the file carries one.
    pub icc: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// No libheif on this machine.
    Unavailable,
    /// The caller's size check refused these header dimensions.
    Refused { width: u32, height: u32 },
    /// libheif could not read the file.
    Corrupt(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable => f.write_str("libheif is not installed"),
            Self::Refused { width, height } => write!(f, "{width}×{height} refused"),
            Self::Corrupt(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {}

#[repr(C)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

enum Context {}
enum Handle {}
enum Image {}

/// The entry points decoding needs, resolved once.
struct Libheif {
    context_alloc: unsafe extern "C" fn() -> *mut Context,
    context_free: unsafe extern "C" fn(*mut Context),
    read_from_memory: unsafe extern "C" fn(*mut Context, *const c_void, usize, *const c_void) -> HeifError,
    primary_handle: unsafe extern "C" fn(*mut Context, *mut *mut Handle) -> HeifError,
    handle_release: unsafe extern "C" fn(*const Handle),
    handle_width: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_height: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_has_alpha: unsafe extern "C" fn(*const Handle) -> c_int,
    profile_size: unsafe extern "C" fn(*const Handle) -> usize,
    profile: unsafe extern "C" fn(*const Handle, *mut c_void) -> HeifError,
    decode: unsafe extern "C" fn(*const Handle, *mut *mut Image, c_int, c_int, *const c_void) -> HeifError,
    image_release: unsafe extern "C" fn(*const Image),
    image_width: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    image_height: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    plane: unsafe extern "C" fn(*const Image, c_int, *mut c_int) -> *const u8,
    /// Kept so the function pointers above stay valid for the process's life.
    _library: libloading::Library,
}

impl Libheif {
    fn load() -> Option<Self> {
        // SAFETY: loading libheif runs only its own initialisers; every
        // symbol is read with the signature heif.h declares for it.
        unsafe {
            let library = LIBRARY_NAMES.iter().find_map(|name| libloading::Library::new(name).ok())?;
            macro_rules! sym {
                ($name:literal) => {
                    *library.get(concat!($name, "\0").as_bytes()).ok()?
                };
            }
            // heif_init (1.13+) loads decoder plugins where the build has
            // them; older builds register their decoders statically.
            if let Ok(init) = library.get::<unsafe extern "C" fn(*mut c_void) -> HeifError>(b"heif_init\0") {
                init(std::ptr::null_mut());
            }
            // Newer Debian ships the HEVC decoder as a separate plugin package: without
            // it libheif loads but reads no iPhone photo, which is "not available" here.
            let has_decoder: unsafe extern "C" fn(c_int) -> c_int = sym!("heif_have_decoder_for_format");
            if has_decoder(COMPRESSION_HEVC) == 0 {
                return None;
            }
            Some(Self {
                context_alloc: sym!("heif_context_alloc"),
                context_free: sym!("heif_context_free"),
                read_from_memory: sym!("heif_context_read_from_memory_without_copy"),
                primary_handle: sym!("heif_context_get_primary_image_handle"),
                handle_release: sym!("heif_image_handle_release"),
                handle_width: sym!("heif_image_handle_get_width"),
                handle_height: sym!("heif_image_handle_get_height"),
                handle_has_alpha: sym!("heif_image_handle_has_alpha_channel"),
                profile_size: sym!("heif_image_handle_get_raw_color_profile_size"),
                profile: sym!("heif_image_handle_get_raw_color_profile"),
                decode: sym!("heif_decode_image"),
                image_release: sym!("heif_image_release"),
                image_width: sym!("heif_image_get_width"),
                image_height: sym!("heif_image_get_height"),
                plane: sym!("heif_image_get_plane_readonly"),
                _library: library,
            })
        }
    }

    fn get() -> Option<&'static Self> {
        static LIBHEIF: OnceLock<Option<Libheif>> = OnceLock::new();
        LIBHEIF.get_or_init(Self::load).as_ref()
    }
}

/// Whether this process can decode HEIC (a libheif 1.x was found).
pub fn is_available() -> bool {
    Libheif::get().is_some()
}

fn check(error: HeifError) -> Result<(), Error> {
    if error.code == 0 {
        return Ok(());
    }
    let why = if error.message.is_null() {
        format!("libheif error {}.{}", error.code, error.subcode)
    } else {
        // SAFETY: libheif's messages are NUL-terminated strings that live
        // at least as long as the context that returned them.
        unsafe { CStr::from_ptr(error.message) }.to_string_lossy().into_owned()
    };
    Err(Error::Corrupt(why))
}

fn dimension(value: c_int) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Corrupt(format!("dimension {value} out of range")))
}

/// Frees what libheif allocated, whichever way decoding ends.
struct Owned<'a> {
    lib: &'a Libheif,
    context: *mut Context,
    handle: *mut Handle,
    image: *mut Image,
}

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or came from its matching allocator,
        // and is released once, image before handle before context.
        unsafe {
            if !self.image.is_null() {
                (self.lib.image_release)(self.image);
            }
            if !self.handle.is_null() {
                (self.lib.handle_release)(self.handle);
            }
            if !self.context.is_null() {
                (self.lib.context_free)(self.context);
            }
        }
    }
}

/// Decodes the primary image of `bytes`. `allow(width, height)` sees the
/// header's dimensions before any pixel is allocated; the container's
/// rotation and mirror are applied, so no EXIF orientation step follows.
pub fn decode(bytes: &[u8], allow: impl Fn(u32, u32) -> bool) -> Result<Picture, Error> {
    let lib = Libheif::get().ok_or(Error::Unavailable)?;
    // SAFETY: the context reads `bytes` without copying, and `owned`, which
    // frees the context, is dropped before `bytes` can go. Out-pointers are
    // valid locals; plane reads stay inside `stride * height` as reported.
    unsafe {
        let mut owned =
            Owned { lib, context: (lib.context_alloc)(), handle: std::ptr::null_mut(), image: std::ptr::null_mut() };
        if owned.context.is_null() {
            return Err(Error::Corrupt("libheif could not start".into()));
        }
        check((lib.read_from_memory)(owned.context, bytes.as_ptr().cast(), bytes.len(), std::ptr::null()))?;
        check((lib.primary_handle)(owned.context, &mut owned.handle))?;
        let width = dimension((lib.handle_width)(owned.handle))?;
        let height = dimension((lib.handle_height)(owned.handle))?;
        if width == 0 || height == 0 || !allow(width, height) {
            return Err(Error::Refused { width, height });
        }
        let icc = match (lib.profile_size)(owned.handle) {
            0 => None,
            size => {
                let mut data = vec![0u8; size];
                check((lib.profile)(owned.handle, data.as_mut_ptr().cast()))?;
                Some(data)
            }
        };
        let has_alpha = (lib.handle_has_alpha)(owned.handle) != 0;
        let (chroma, channels) = if has_alpha { (CHROMA_INTERLEAVED_RGBA, 4) } else { (CHROMA_INTERLEAVED_RGB, 3) };
        check((lib.decode)(owned.handle, &mut owned.image, COLORSPACE_RGB, chroma, std::ptr::null()))?;
        let w = dimension((lib.image_width)(owned.image, CHANNEL_INTERLEAVED))?;
        let h = dimension((lib.image_height)(owned.image, CHANNEL_INTERLEAVED))?;
        // A rotation swaps the sides; anything else would be a lying header.
        if u64::from(w) * u64::from(h) != u64::from(width) * u64::from(height) || h == 0 {
            return Err(Error::Corrupt(format!("decoded {w}×{h} from a {width}×{height} header")));
        }
        let mut stride: c_int = 0;
        let plane = (lib.plane)(owned.image, CHANNEL_INTERLEAVED, &mut stride);
        let stride = usize::try_from(stride).unwrap_or(0);
        let row_len = w as usize * channels;
        if plane.is_null() || stride < row_len {
            return Err(Error::Corrupt("no interleaved plane".into()));
        }
        let plane = std::slice::from_raw_parts(plane, stride * (h as usize - 1) + row_len);
        let mut pixels = Vec::with_capacity(row_len * h as usize);
        for row in plane.chunks(stride) {
            pixels.extend(row.iter().take(row_len));
        }
        Ok(Picture { width: w, height: h, has_alpha, pixels, icc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_corrupt_or_libheif_is_missing() {
        let err = decode(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08mdat", |_, _| true).unwrap_err();
        if is_available() {
            assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
        } else {
            assert_eq!(err, Error::Unavailable);
        }
    }
}
