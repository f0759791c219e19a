package tracker

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"strings"
)

var (
	errNeedPassphrase = errors.New("the private key is encrypted but no passphrase is set")
	errBadPassphrase  = errors.New("wrong passphrase (or a damaged key)")
)

// decryptKeyPEM finds the private key in a PEM file and returns it as PEM that
// tls.X509KeyPair accepts. Encrypted keys are decrypted with passphrase:
//   - PKCS#8 "ENCRYPTED PRIVATE KEY" with PBES2 (PBKDF2 with HMAC-SHA1/-SHA224/-SHA256/
//     -SHA384/-SHA512; AES-128/192/256-CBC or DES-EDE3-CBC), which is what OpenSSL 1.1+
//     writes (openssl genpkey -aes256, openssl req -keyout without -nodes);
//   - legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED", openssl rsa -aes256 -traditional).
//
// Unencrypted keys are returned unchanged.
func decryptKeyPEM(data []byte, passphrase string) ([]byte, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY":
			if passphrase == "" {
				return nil, errNeedPassphrase
			}
			der, err := decryptPKCS8(b.Bytes, []byte(passphrase))
			if err != nil {
				return nil, err
			}
			if !parsesAsKey(der) {
				return nil, errBadPassphrase
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
		case strings.HasSuffix(b.Type, "PRIVATE KEY") && x509.IsEncryptedPEMBlock(b): //nolint:staticcheck // legacy format still in use
			if passphrase == "" {
				return nil, errNeedPassphrase
			}
			der, err := x509.DecryptPEMBlock(b, []byte(passphrase)) //nolint:staticcheck // legacy format still in use
			// The legacy format has no integrity check: a wrong passphrase passes the padding
			// check about once in 256 tries and yields garbage, so the result must parse too.
			if err != nil || !parsesAsKey(der) {
				return nil, errBadPassphrase
			}
			return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			return data, nil
		}
	}
	if types := pemTypes(data); len(types) > 0 {
		return nil, fmt.Errorf("no PRIVATE KEY PEM block (found %s)", strings.Join(types, ", "))
	}
	return nil, errors.New("no PEM data")
}

var (
	oidPBES2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA2x = map[int]func() hash.Hash{ // last arc of 1.2.840.113549.2.x
		8: sha256.New224, 9: sha256.New, 10: sha512.New384, 11: sha512.New,
	}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

// ASN.1 structures of RFC 8018 (PKCS #5 v2.1) and RFC 5958 (EncryptedPrivateKeyInfo).
type (
	algorithmIdentifier struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	encryptedPrivateKeyInfo struct {
		Algorithm     algorithmIdentifier
		EncryptedData []byte
	}
	pbes2Params struct {
		KeyDerivationFunc algorithmIdentifier
		EncryptionScheme  algorithmIdentifier
	}
	pbkdf2Params struct {
		Salt           []byte
		IterationCount int
		KeyLength      int                 `asn1:"optional"`
		PRF            algorithmIdentifier `asn1:"optional"`
	}
)

// maxPBKDF2Iterations refuses absurd iteration counts that would stall start-up.
const maxPBKDF2Iterations = 10_000_000

func decryptPKCS8(der, passphrase []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed ENCRYPTED PRIVATE KEY")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported key encryption %v (only PBES2 is supported; re-encrypt with openssl pkcs8 -topk8 -v2 aes256)", info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported key derivation %v (only PBKDF2 is supported)", params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, errors.New("malformed PBKDF2 parameters")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kdf.IterationCount)
	}
	prf := sha1.New
	if alg := kdf.PRF.Algorithm; len(alg) > 0 && !alg.Equal(oidHMACSHA1) {
		h, ok := func() (func() hash.Hash, bool) {
			if n := len(oidHMACSHA1); len(alg) == n && alg[:n-1].Equal(oidHMACSHA1[:n-1]) {
				h, ok := oidHMACSHA2x[alg[n-1]]
				return h, ok
			}
			return nil, false
		}()
		if !ok {
			return nil, fmt.Errorf("unsupported PBKDF2 PRF %v", alg)
		}
		prf = h
	}

	var (
		keyLen   int
		newBlock func([]byte) (cipher.Block, error)
	)
	switch alg := params.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case alg.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case alg.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case alg.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("unsupported key cipher %v (AES-CBC and DES-EDE3-CBC are supported)", alg)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, errors.New("PBKDF2 key length does not match the cipher")
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, errors.New("malformed cipher IV")
	}
	key, err := pbkdf2.Key(prf, string(passphrase), kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("key cipher: %w", err)
	}
	bs := block.BlockSize()
	data := info.EncryptedData
	if len(iv) != bs || len(data) == 0 || len(data)%bs != 0 {
		return nil, errors.New("malformed encrypted key data")
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	// PKCS#7 padding; a wrong passphrase almost always breaks it.
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, errBadPassphrase
	}
	plain = plain[:len(plain)-n]
	if _, err := x509.ParsePKCS8PrivateKey(plain); err != nil {
		return nil, errBadPassphrase
	}
	return plain, nil
}

// parsesAsKey reports whether der is a private key in one of the encodings TLS accepts
// (PKCS#1 RSA, SEC 1 EC, PKCS#8).
func parsesAsKey(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}
